import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { compareRuns } from '../../experiments/compare';
import { MlflowClient } from '../../experiments/mlflowClient';
import { DEFAULT_MODEL_NAME } from '../../experiments/registry';
import { DEFAULT_EXPERIMENT } from '../../experiments/tracking';
import { dataDir } from '../../platform/paths';
import { loadSettings } from '../../platform/settings';
import { CliError } from '../cliError';
import type { Command } from '../command';

const USAGE = `usage: curio compare [RUN ...] [--experiment NAME] [--model NAME] [--out FILE.html] [--depth N] [--no-log]

  RUN is a run id, champion | challenger | @ALIAS, vN (model version), latest | latest~N,
  or a Curio run key (<workflowId>/<temporalRunId>). Default: the latest retrain against the
  champion (or against the retrain before it when the latest is the champion).

  Prints the metrics side by side and the params that differ, writes an HTML report (loss
  curves, Recall@K per model, CTR lift with its interval) and logs it as an artifact of the
  newest run, so it opens from the MLflow UI.`;

export const compareCommand: Command = {
  summary: 'compare retrains side by side (default: the latest against the champion) and log an HTML report',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        experiment: { type: 'string' },
        model: { type: 'string' },
        out: { type: 'string' },
        depth: { type: 'string' },
        'no-log': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return;
    }
    const depth = values.depth === undefined ? 2 : Number(values.depth);
    if (!Number.isInteger(depth) || depth < 0 || depth > 5) throw new CliError(`--depth must be an integer 0-5, got ${values.depth}`);
    const client = new MlflowClient(loadSettings().mlflowTrackingUri, { retries: 1 });
    const res = await compareRuns({
      client,
      experimentName: values.experiment ?? DEFAULT_EXPERIMENT,
      modelName: values.model ?? DEFAULT_MODEL_NAME,
      runs: positionals,
      depth,
      logArtifact: !values['no-log'],
    });
    console.log(res.text);
    const ids = res.comparison.runs.map((r) => r.snapshot.runId.slice(0, 8)).join('_');
    const out = resolve(values.out ?? join(dataDir, 'reports', `compare_${ids}.html`));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, res.html);
    console.log(`\nreport: ${out}`);
    if (res.artifact) console.log(`logged as artifact ${res.artifact.path} of run ${res.artifact.runId}\n  ${res.artifact.runUrl}`);
  },
};
