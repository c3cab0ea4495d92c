import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatAbReport } from '../../evaluation/abReport';
import { DEFAULT_AB, runAbTest, type AbInputs } from '../../evaluation/abTest';
import { noisyOracle, truthOracle } from '../../evaluation/oracleModel';
import { CliError } from '../cliError';
import type { Command } from '../main';

const USAGE = `usage: curio ab-test --data DIR --features FILE.duckdb --tags FILE.duckdb [options]
  Simulates an A/B CTR test on the held-out period of a generated marketplace: arm A item-CF,
  arm B multi-interest + constrained retrieval; clicks from the generator's ground-truth click model.
  --data DIR          the generated dataset folder (its truth/ decides clicks)
  --features FILE     the feature DB built from it (curio features / data/features.ts)
  --tags FILE         the tags DB built from it (tagging)
  --model M           arm B's models: oracle | noisy-oracle (default oracle). Both read the truth:
                      they check the simulator, they are not the real comparison.
  --noise S           noise sigma of noisy-oracle (default 0.5)
  --seed N            user split, session interests and clicks (default 1)
  --factory F         Faiss index of arm B (default Flat; e.g. IVF256,Flat)
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
        noise: { type: 'string', default: '0.5' },
        seed: { type: 'string', default: '1' },
        factory: { type: 'string', default: 'Flat' },
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
    if (!existsSync(join(data, 'truth'))) throw new CliError(`${data} has no truth/ folder: the simulator needs a dataset made by 'curio generate'`);
    for (const f of [values.features, values.tags] as string[]) if (!existsSync(f)) throw new CliError(`${f} does not exist`);
    const seed = Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0) throw new CliError(`--seed must be a non-negative integer, got '${values.seed}'`);
    const noise = Number(values.noise);
    if (!(noise >= 0)) throw new CliError(`--noise must be a number >= 0, got '${values.noise}'`);
    let armB: AbInputs['armB'];
    if (values.model === 'oracle') armB = truthOracle;
    else if (values.model === 'noisy-oracle') armB = (truth) => noisyOracle(truth, noise, seed);
    else throw new CliError(`--model must be oracle or noisy-oracle, got '${values.model}' (trained models plug in through runAbTest's armB)`);

    const report = await runAbTest(
      { featuresDb: values.features as string, tagsDb: values.tags as string, datasetDir: data, armB },
      { ...DEFAULT_AB, seed, index: { factory: values.factory ?? 'Flat' } },
      (m) => console.log(`  ${m}`),
    );
    console.log(formatAbReport(report));
    console.log(`note: arm B used ${report.armB.label}, which reads the generator's truth; this checks the simulator, not a model.`);
    if (values.json) {
      writeFileSync(values.json, JSON.stringify(report, null, 2));
      console.log(`report written to ${values.json}`);
    }
  },
};
