import { parseArgs } from 'node:util';
import { createTracker } from '../../experiments/trackerConfig';
import { CliError } from '../cliError';
import type { Command } from '../command';

const USAGE = `usage: curio tracking status|flush [--wait SECONDS]

  status  operations waiting in the local MLflow buffer (CURIO_TRACKING_BUFFER_DIR, default
          .data/mlflow-buffer) and those MLflow rejected for good (kept in its failed/ folder)
  flush   replay the buffer to MLflow now (safe while workers flush too: one holds the lock)`;

export const trackingCommand: Command = {
  summary: 'status | flush of the local MLflow buffer that holds tracking while MLflow is down',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { wait: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    const action = positionals[0];
    if (values.help || !action) {
      console.log(USAGE);
      return;
    }
    const wait = values.wait === undefined ? 30 : Number(values.wait);
    if (!Number.isFinite(wait) || wait < 0) throw new CliError(`--wait must be a number of seconds >= 0, got ${values.wait}`);
    const tracker = createTracker({ autoFlush: false, onProblem: (p) => console.error(`  ${p.kind}: ${p.message}`) });
    try {
      if (action === 'status') {
        const failed = (await tracker.journal.failedIds()).length;
        console.log(`${await tracker.pending()} operations buffered in ${tracker.journal.dir}${failed ? `, ${failed} rejected (see failed/)` : ''}`);
        console.log(`MLflow ${tracker.trackingUri}: ${(await tracker.client.healthy()) ? 'reachable' : 'unreachable'}`);
      } else if (action === 'flush') {
        const r = await tracker.flush({ waitMs: wait * 1000 });
        console.log(`applied ${r.applied}, rejected ${r.failed}, still buffered ${r.remaining}${r.busy ? ' (another process holds the flush lock)' : ''}`);
        if (r.error) console.log(`stopped: ${r.error}`);
        if (r.remaining > 0) process.exitCode = 3;
      } else {
        throw new CliError(`unknown action '${action}'\n\n${USAGE}`);
      }
    } finally {
      await tracker.close();
    }
  },
};
