import { parseArgs } from 'node:util';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { retrainRecall } from '../../workflows/retrainRecall';
import { PIPELINE_TASK_QUEUE } from '../../workflows/taskQueues';
import { CliError } from '../cliError';
import { connectTemporal } from '../temporalClient';
import type { Command } from '../command';
import { retrainInputFromFlags } from './retrain';

/** A Temporal Schedule that starts a retrain every night (or on any cron expression). */
export const scheduleCommand: Command = {
  summary: 'create | list | delete the Temporal Schedule of nightly retrains',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        id: { type: 'string', default: 'nightly-retrain' },
        cron: { type: 'string', default: '0 2 * * *' },
        scale: { type: 'string' },
        data: { type: 'string' },
        seed: { type: 'string' },
        input: { type: 'string' },
        experiment: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const action = positionals[0];
    if (values.help || !action) {
      console.log('usage: curio schedule create [--id ID] [--cron "0 2 * * *"] [--data DIR | --scale S | --input FILE.json]\n       curio schedule list\n       curio schedule delete [ID]');
      return;
    }
    const { client, close } = await connectTemporal();
    try {
      switch (action) {
        case 'create': {
          const input = retrainInputFromFlags(values);
          await client.schedule.create({
            scheduleId: values.id ?? 'nightly-retrain',
            spec: { cronExpressions: [values.cron ?? '0 2 * * *'] },
            // A slow retrain never overlaps the next night's: the next one is skipped.
            policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
            action: { type: 'startWorkflow', workflowType: retrainRecall, taskQueue: PIPELINE_TASK_QUEUE, args: [input], workflowId: `${values.id ?? 'nightly-retrain'}-run` },
          });
          console.log(`created schedule ${values.id} (${values.cron}) starting retrainRecall with ${JSON.stringify(input)}`);
          return;
        }
        case 'list': {
          let any = false;
          for await (const s of client.schedule.list()) {
            any = true;
            const d = await client.schedule.getHandle(s.scheduleId).describe();
            const next = d.info.nextActionTimes[0]?.toISOString() ?? '-';
            const recent = d.info.recentActions.at(-1);
            console.log(`${s.scheduleId.padEnd(24)} next ${next}  last ${recent?.takenAt.toISOString() ?? '-'}  paused ${d.state.paused}`);
          }
          if (!any) console.log('no schedules');
          return;
        }
        case 'delete': {
          const id = positionals[1] ?? values.id ?? 'nightly-retrain';
          await client.schedule.getHandle(id).delete();
          console.log(`deleted schedule ${id}`);
          return;
        }
        default:
          throw new CliError(`unknown action '${action}' (create, list, delete)`);
      }
    } finally {
      await close();
    }
  },
};
