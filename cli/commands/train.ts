import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { localRetrain } from '../../stages/localRetrain';
import { dataDir } from '../../platform/paths';
import type { Command } from '../command';
import { progressReporter } from '../progress';

export const trainCommand: Command = {
  summary: 'train and evaluate the three models on a dataset folder, in this process (no Temporal)',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { artifacts: { type: 'string' }, quarantine: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    });
    const dir = positionals[0];
    if (values.help || !dir) {
      console.log('usage: curio train DIR [--artifacts ROOT] [--quarantine]\n  stage folders are content-addressed: a re-run reuses finished stages');
      return;
    }
    const progress = progressReporter();
    let r: Awaited<ReturnType<typeof localRetrain>>;
    try {
      r = await localRetrain({
        dataDir: resolve(dir),
        artifactsRoot: resolve(values.artifacts ?? join(dataDir, 'artifacts')),
        quarantine: values.quarantine ?? false,
        log: (m) => progress.log(m),
        onProgress: (p) => progress.training(p),
      });
    } finally {
      progress.stop();
    }
    const nc = r.itemEmbedding.nextClick;
    console.log(`\nnext-click Recall@50  item-unit: warm ${(100 * nc.itemUnit.recallWarm).toFixed(2)}%, cold ${(100 * nc.itemUnit.recallCold).toFixed(2)}%   item2vec: warm ${(100 * nc.item2vec.recallWarm).toFixed(2)}%, cold ${(100 * nc.item2vec.recallCold).toFixed(2)}%   popularity (best window): warm ${(100 * nc.popularity.recallWarm).toFixed(2)}%, cold ${(100 * nc.popularity.recallCold).toFixed(2)}%`);
    const kw = r.keyword;
    console.log(`keyword Recall@50 on ${kw.heldOutSearches} held-out searches: with transfer ${(100 * kw.withTransfer.recall_at_50).toFixed(2)}%, without ${(100 * kw.withoutTransfer.recall_at_50).toFixed(2)}%\n`);
    console.log(readFileSync(join(r.dirs.evaluation as string, 'evaluation.md'), 'utf8'));
  },
};
