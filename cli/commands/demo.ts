import { parseArgs } from 'node:util';
import { SCALES, type Scale } from '../../workflows/types';
import { CliError } from '../cliError';
import type { Command } from '../command';
import { startRetrain } from './retrain';
import { printUrls } from './services';

export const demoCommand: Command = {
  summary: "retrain on the built-in synthetic marketplace through Temporal and MLflow (what `make demo` runs)",
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { scale: { type: 'string', default: 'small' }, seed: { type: 'string', default: '7' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      console.log('usage: curio demo [--scale tiny|small|medium|large] [--seed N]   (needs `make services-up` and `curio workers up`)');
      return;
    }
    const scale = values.scale as Scale;
    if (!SCALES.includes(scale)) throw new CliError(`--scale must be one of ${SCALES.join(', ')}`);
    const seed = Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0) throw new CliError(`--seed must be a non-negative integer, got ${values.seed}`);
    // The same input a user would paste into the Temporal UI's Start Workflow form.
    console.log(`retrainRecall on the ${scale} synthetic marketplace (seed ${seed}); input: ${JSON.stringify({ data: { generate: { scale, seed } } })}`);
    await startRetrain({ data: { generate: { scale, seed } } }, { prefix: `demo-${scale}` });
    printUrls();
  },
};
