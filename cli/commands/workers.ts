import { parseArgs } from 'node:util';
import { workerServices } from '../../services/localServices';
import { startService, stopService } from '../../services/processManager';
import { CliError } from '../cliError';
import type { Command } from '../command';
import { printStatus } from './services';

export const workersCommand: Command = {
  summary: 'up | down | restart | status of the pipeline and training workers (background processes)',
  async run(args) {
    const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
    const action = positionals[0];
    if (values.help || !action) {
      console.log('usage: curio workers up|down|restart|status\n  starts the pipeline worker and CURIO_TRAINING_WORKERS training workers (default: min(cores, 2)), each with its share of the cores');
      return;
    }
    const log = (m: string) => console.log(m);
    const specs = workerServices();
    // Stopping covers training workers an earlier `up` started with a larger CURIO_TRAINING_WORKERS.
    const started = workerServices({ including: 'started' });
    switch (action) {
      case 'up':
        for (const s of specs) await startService(s, log);
        return;
      case 'down':
        for (const s of started) await stopService(s, log);
        return;
      case 'restart':
        for (const s of started) await stopService(s, log);
        for (const s of specs) await startService(s, log);
        return;
      case 'status':
        if (!(await printStatus(specs))) process.exitCode = 3;
        return;
      default:
        throw new CliError(`unknown action '${action}' (up, down, restart, status)`);
    }
  },
};
