import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { localRetrain } from '../../stages/localRetrain';
import { dataDir } from '../../platform/paths';
import type { RetrainInput } from '../../workflows/types';
import { CliError } from '../cliError';
import type { Command } from '../command';
import { progressReporter } from '../progress';

export const trainCommand: Command = {
  summary: 'train and evaluate the three models on a dataset folder, in this process (no Temporal)',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { artifacts: { type: 'string' }, config: { type: 'string' }, quarantine: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    });
    const dir = positionals[0];
    if (values.help || !dir) {
      console.log(
        'usage: curio train DIR [--artifacts ROOT] [--config FILE.json] [--quarantine]\n' +
          '  --config: the retrain input\'s settings (models, features, tagging, lambdaGrid, evaluation; no data), checked like a workflow\'s\n' +
          '  stage folders are content-addressed: a re-run, or a retrain workflow with the same data and settings, reuses finished stages',
      );
      return;
    }
    const settings = values.config ? readSettings(values.config) : {};
    const progress = progressReporter();
    // Ctrl-C stops a training at its next step; finished stages stay, and a re-run resumes after them.
    const stop = new AbortController();
    const onSigint = () => stop.abort(new CliError('interrupted; finished stages are kept, run the same command to resume'));
    process.once('SIGINT', onSigint);
    let r: Awaited<ReturnType<typeof localRetrain>>;
    try {
      r = await localRetrain({
        ...settings,
        dataDir: resolve(dir),
        artifactsRoot: resolve(values.artifacts ?? join(dataDir, 'artifacts')),
        quarantine: values.quarantine ?? false,
        log: (m) => progress.log(m),
        onProgress: (p) => progress.training(p),
        signal: stop.signal,
      });
    } finally {
      process.off('SIGINT', onSigint);
      progress.stop();
    }
    const nc = r.itemEmbedding.nextClick;
    console.log(`\nnext-click Recall@50  item-unit: warm ${(100 * nc.itemUnit.recallWarm).toFixed(2)}%, cold ${(100 * nc.itemUnit.recallCold).toFixed(2)}%   item2vec: ${nc.item2vec ? `warm ${(100 * nc.item2vec.recallWarm).toFixed(2)}%, cold ${(100 * nc.item2vec.recallCold).toFixed(2)}%` : `not run (${r.itemEmbedding.item2vecNotRun ?? ''})`}   popularity (best window): warm ${(100 * nc.popularity.recallWarm).toFixed(2)}%, cold ${(100 * nc.popularity.recallCold).toFixed(2)}%`);
    const kw = r.keyword;
    console.log(`keyword Recall@50 on ${kw.heldOutSearches} held-out searches: with transfer ${(100 * kw.withTransfer.recall_at_50).toFixed(2)}%, without ${(100 * kw.withoutTransfer.recall_at_50).toFixed(2)}%\n`);
    console.log(readFileSync(join(r.dirs.evaluation as string, 'evaluation.md'), 'utf8'));
  },
};

/** The settings of `--config FILE.json`: a retrain input without its data source (the folder is DIR). */
function readSettings(file: string): Omit<RetrainInput, 'data'> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`--config ${file}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CliError(`--config ${file}: must be one JSON object of retrain settings`);
  if ('data' in parsed) throw new CliError(`--config ${file}: 'data' is the DIR argument here, not a setting`);
  // The sections themselves are checked by the retrain's schema, with the field and the reason.
  return parsed as Omit<RetrainInput, 'data'>;
}
