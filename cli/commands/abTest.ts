import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatAbReport } from '../../evaluation/abReport';
import { DEFAULT_AB, validateAbConfig, type AbConfig } from '../../evaluation/abConfig';
import type { ArmBModels } from '../../evaluation/abFeeds';
import { runReplayOnly, type ReplayOnlyReport } from '../../evaluation/abReplay';
import { simulateAbTest, type AbInputs, type AbReport } from '../../evaluation/abTest';
import { hasTruth } from '../../evaluation/truth';
import { noisyOracle, truthOracle } from '../../evaluation/oracleModel';
import { CliError } from '../cliError';
import type { Command } from '../command';

const USAGE = `usage: curio ab-test --data DIR --features FILE.duckdb --tags FILE.duckdb [options]
  Simulates an A/B CTR test on the held-out period of a generated marketplace: arm A item-CF,
  arm B multi-interest + constrained retrieval; clicks from the generator's ground-truth click model.
  --data DIR          the dataset folder (its truth/ decides clicks; without truth/ only the offline
                      replay estimate is possible, and only with --model trained)
  --features FILE     the feature DB built from it (curio features / data/features.ts)
  --tags FILE         the tags DB built from it (tagging)
  --model M           arm B's models: trained | oracle | noisy-oracle (default oracle). oracle and
                      noisy-oracle read the truth: they check the simulator, they are not the real
                      comparison; trained is (needs --item-vectors and --multi-interest)
  --item-vectors F    trained item vectors (item_embedding stage: item_vectors.parquet)
  --multi-interest D  trained multi-interest model folder (holds model.json; e.g. a trial's
                      multi_interest/ folder)
  --served FILE       with --model trained: serve arm B as an evaluation stage chose it on
                      validation (its evaluation.json): the learned model or the history-clustering
                      baseline, the merge, and the share of the last clicks' neighbours
  --noise S           noise sigma of noisy-oracle (default 0.5)
  --seed N            user split, session interests and clicks (default 1)
  --factory F         Faiss index of arm B (default Flat; e.g. IVF256,Flat)
  --cf-refresh R      periodic (default: item-CF/popularity recomputed every 24 h inside the test) |
                      frozen (computed once at the test start; a diagnostic)
  --replay-only       skip the simulation even when truth/ exists (trained models only)
  --json FILE         also write the full report as JSON`;

export const abTestCommand: Command = {
  summary: 'simulate the A/B CTR test (item-CF vs multi-interest retrieval) on a generated marketplace',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        data: { type: 'string' },
        features: { type: 'string' },
        tags: { type: 'string' },
        model: { type: 'string', default: 'oracle' },
        'item-vectors': { type: 'string' },
        'multi-interest': { type: 'string' },
        served: { type: 'string' },
        noise: { type: 'string', default: '0.5' },
        seed: { type: 'string', default: '1' },
        factory: { type: 'string', default: 'Flat' },
        'cf-refresh': { type: 'string', default: 'periodic' },
        'replay-only': { type: 'boolean', default: false },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return;
    }
    for (const k of ['data', 'features', 'tags'] as const) {
      if (!values[k]) throw new CliError(`--${k} is required\n\n${USAGE}`);
    }
    const data = values.data as string;
    for (const f of [values.features, values.tags] as string[]) if (!existsSync(f)) throw new CliError(`${f} does not exist`);
    const seed = Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0) throw new CliError(`--seed must be a non-negative integer, got '${values.seed}'`);
    const noise = Number(values.noise);
    if (!(noise >= 0)) throw new CliError(`--noise must be a number >= 0, got '${values.noise}'`);
    const cfRefresh = values['cf-refresh'];
    if (cfRefresh !== 'periodic' && cfRefresh !== 'frozen') throw new CliError(`--cf-refresh must be periodic or frozen, got '${cfRefresh}'`);
    const config: AbConfig = validateAbConfig({ ...DEFAULT_AB, seed, index: { factory: values.factory ?? 'Flat' }, cfRefresh });
    const truthThere = hasTruth(data);
    const progress = (m: string) => console.log(`  ${m}`);

    let report: AbReport | ReplayOnlyReport;
    if (values.model === 'trained') {
      const ivFile = values['item-vectors'];
      const miDir = values['multi-interest'];
      if (!ivFile || !miDir) throw new CliError(`--model trained needs --item-vectors FILE.parquet and --multi-interest DIR\n\n${USAGE}`);
      if (!existsSync(ivFile)) throw new CliError(`${ivFile} does not exist`);
      if (!existsSync(join(miDir, 'model.json'))) throw new CliError(`${miDir} holds no model.json (pass the multi_interest/ folder of a trained model)`);
      const { readItemVectors } = await import('../../models/vectorFiles');
      const { openServedArm, servedArmFromReport } = await import('../../stages/servedArm');
      let served: import('../../stages/servedArm').ServedArm = { method: 'multi_interest' };
      if (values.served) {
        if (!existsSync(values.served)) throw new CliError(`${values.served} does not exist (pass an evaluation stage's evaluation.json)`);
        const report = JSON.parse(readFileSync(values.served, 'utf8')) as import('../../stages/evaluationStage').EvaluationReport;
        if (!report.nextSession?.served) throw new CliError(`${values.served} names no served user model: it was written before serving choices existed, or is not an evaluation.json`);
        served = servedArmFromReport(report);
      }
      const iv = await readItemVectors(ivFile);
      const armB: ArmBModels & { dispose(): void } = await openServedArm(served, miDir, iv);
      try {
        const common = { featuresDb: values.features as string, tagsDb: values.tags as string, armB };
        report = truthThere && !values['replay-only'] ? await simulateAbTest({ ...common, datasetDir: data }, config, progress) : await runReplayOnly(common, config, progress);
      } finally {
        armB.dispose();
      }
      console.log(formatAbReport(report));
    } else {
      if (values['replay-only']) throw new CliError('--replay-only needs --model trained (an oracle needs truth/, and then the simulation is possible)');
      if (!truthThere) throw new CliError(`${data} has no truth/ folder: the oracle models and the simulator need a dataset made by 'curio generate' (use --model trained for the replay-only estimate)`);
      let armB: AbInputs['armB'];
      if (values.model === 'oracle') armB = truthOracle;
      else if (values.model === 'noisy-oracle') armB = (truth) => noisyOracle(truth, noise, seed);
      else throw new CliError(`--model must be trained, oracle or noisy-oracle, got '${values.model}'`);
      report = await simulateAbTest({ featuresDb: values.features as string, tagsDb: values.tags as string, datasetDir: data, armB }, config, progress);
      console.log(formatAbReport(report));
      console.log(`note: arm B used ${report.armB.label}, which reads the generator's truth; this checks the simulator, not a model.`);
    }
    if (values.json) {
      writeFileSync(values.json, JSON.stringify(report, null, 2));
      console.log(`report written to ${values.json}`);
    }
  },
};
