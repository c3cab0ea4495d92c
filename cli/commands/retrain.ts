import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { loadSettings } from '../../platform/settings';
import { progressQuery, retrainRecall, retryStageUpdate, abortSignal } from '../../workflows/retrainRecall';
import { PIPELINE_TASK_QUEUE } from '../../workflows/taskQueues';
import { SCALES, type RetrainInput, type Scale, type StageRow } from '../../workflows/types';
import { CliError } from '../cliError';
import { connectTemporal, workflowUiUrl } from '../temporalClient';
import type { Command } from '../command';

/** Builds the workflow input from flags, or reads it from --input FILE (the same JSON the UI takes). */
export function retrainInputFromFlags(values: { input?: string; scale?: string; data?: string; seed?: string; experiment?: string }): RetrainInput {
  if (values.input) {
    try {
      return JSON.parse(readFileSync(resolve(values.input), 'utf8')) as RetrainInput;
    } catch (err) {
      throw new CliError(`--input ${values.input}: ${(err as Error).message}`);
    }
  }
  if (values.data && values.scale) throw new CliError('give either --data DIR or --scale, not both');
  const base: RetrainInput = values.data
    ? { data: { dir: resolve(values.data) } }
    : (() => {
        const scale = (values.scale ?? 'small') as Scale;
        if (!SCALES.includes(scale)) throw new CliError(`--scale must be one of ${SCALES.join(', ')}`);
        const seed = Number(values.seed ?? 7);
        if (!Number.isInteger(seed) || seed < 0) throw new CliError(`--seed must be a non-negative integer, got ${values.seed}`);
        return { data: { generate: { scale, seed } } };
      })();
  if (values.experiment) base.experimentName = values.experiment;
  return base;
}

function renderTable(rows: StageRow[]): string {
  const icon: Record<string, string> = { pending: '·', running: '▶', done: '✓', failed: '✗', waiting_for_retry: '!', skipped: '-' };
  return rows
    .map((r) => {
      const d = r.durationMs !== undefined ? `${(r.durationMs / 1000).toFixed(1)}s` : '';
      // Headline numbers only: long strings (digests, paths) are in the Temporal UI and MLflow.
      const s = r.summary
        ? Object.entries(r.summary)
            .filter(([k, v]) => k !== 'activityAttempt' && (typeof v === 'number' || v.length <= 24))
            .slice(0, 3)
            .map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toFixed(4) : v}`)
            .join(' ')
        : '';
      const err = r.error ? `  ${r.errorType}: ${r.error.split('\n')[0]}` : '';
      return `  ${icon[r.status] ?? '?'} ${r.stage.padEnd(15)} ${r.status.padEnd(17)} ${r.attempt > 1 ? `attempt ${r.attempt}` : ''.padEnd(9)} ${d.padStart(8)}  ${s}${err}`;
    })
    .join('\n');
}

/** Follows a running retrain, redrawing the stage table, until it completes (or waits for a retry, with --until-wait). */
export async function followRetrain(handle: WorkflowHandle<typeof retrainRecall>, opts: { untilWait?: boolean } = {}): Promise<void> {
  const tty = process.stdout.isTTY;
  let last = '';
  let printedLines = 0;
  let hinted: string | undefined;
  const done = handle.result().then(
    (r) => ({ ok: true as const, r }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  for (;;) {
    const settled = await Promise.race([done, new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000))]);
    let rows: StageRow[] = [];
    try {
      rows = await handle.query(progressQuery);
    } catch {
      /* completed workflows may not answer queries if no worker runs */
    }
    const table = rows.length ? renderTable(rows) : last;
    if (table !== last) {
      if (tty) {
        if (printedLines) process.stdout.write(`\x1b[${printedLines}A\x1b[0J`);
        console.log(table);
        printedLines = table.split('\n').length;
      } else {
        // A log file cannot be redrawn: print the table once, then only the rows that changed.
        const before = new Set(last.split('\n'));
        const lines = table.split('\n').filter((l) => !before.has(l));
        console.log(last ? lines.join('\n') : table);
      }
      last = table;
    }
    const waiting = rows.find((r) => r.status === 'waiting_for_retry');
    if (waiting && opts.untilWait) return;
    if (settled) {
      if (!settled.ok) {
        const cause = settled.e instanceof WorkflowFailedError ? (settled.e.cause?.message ?? settled.e.message) : String(settled.e);
        throw new CliError(`retrain ${handle.workflowId} failed: ${cause}`);
      }
      const r = settled.r;
      console.log(`\nbest λ ${r.bestLambda}; next-session Recall@50 multi-interest ${(100 * r.recallAt50).toFixed(2)}% vs item-CF ${(100 * r.itemCfRecallAt50).toFixed(2)}%` + (r.ctrLift !== undefined ? `; A/B CTR lift ${(100 * r.ctrLift).toFixed(1)}%` : ''));
      if (r.registry) console.log(`registry: version ${r.registry.version} ${r.registry.decision} (champion: ${r.registry.champion ? `version ${r.registry.champion}` : 'none'}) — ${r.registry.reason}`);
      console.log(`Temporal run: ${workflowUiUrl(handle.workflowId, (handle as Partial<WorkflowHandleWithFirstExecutionRunId>).firstExecutionRunId)}`);
      if (r.mlflowRunUrl) console.log(`MLflow run:   ${r.mlflowRunUrl}`);
      return;
    }
    if (waiting && hinted !== waiting.stage) {
      // Say once per failure how to continue.
      {
        hinted = waiting.stage;
        printedLines = 0;
        console.log(`\nstage ${waiting.stage} failed and waits: fix the cause, then\n  curio retry ${handle.workflowId} [--stage ${waiting.stage}] [--overrides '{"multiInterest": {"learningRate": 0.001}}']\nor  curio abort ${handle.workflowId}`);
      }
    }
  }
}

export const retrainCommand: Command = {
  summary: 'start a retrain workflow on Temporal and follow its stages live',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        scale: { type: 'string' },
        data: { type: 'string' },
        seed: { type: 'string' },
        input: { type: 'string' },
        experiment: { type: 'string' },
        'workflow-id': { type: 'string' },
        detach: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(
        'usage: curio retrain [--scale tiny|small|medium|large [--seed N] | --data DIR | --input FILE.json] [--experiment NAME] [--workflow-id ID] [--detach]\n' +
          '  needs the services (make services-up) and the workers (curio workers up)',
      );
      return;
    }
    const input = retrainInputFromFlags(values);
    await startRetrain(input, { workflowId: values['workflow-id'], detach: values.detach });
  },
};

/** Starts retrainRecall on the running services, says where to watch it, and follows it unless detached. */
export async function startRetrain(input: RetrainInput, opts: { workflowId?: string; detach?: boolean; prefix?: string } = {}): Promise<void> {
  const { client, close } = await connectTemporal();
  try {
    const workflowId = opts.workflowId ?? `${opts.prefix ?? 'retrain'}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const handle = await client.workflow.start(retrainRecall, { taskQueue: PIPELINE_TASK_QUEUE, workflowId, args: [input] });
    console.log(`started ${workflowId}\n  Temporal UI: ${workflowUiUrl(workflowId, handle.firstExecutionRunId)}\n  MLflow:      ${loadSettings().mlflowTrackingUri}\n`);
    if (!opts.detach) await followRetrain(handle);
  } finally {
    await close();
  }
}

export const retryCommand: Command = {
  summary: 'retry the failed stage of a waiting retrain (optionally with config overrides); refused with the reason if they do not resolve',
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { stage: { type: 'string' }, overrides: { type: 'string' }, follow: { type: 'boolean', default: true }, help: { type: 'boolean', short: 'h' } } });
    const id = positionals[0];
    if (values.help || !id) {
      console.log(`usage: curio retry WORKFLOW_ID [--stage STAGE] [--overrides '{"keyword": {"epochs": 2}}']`);
      return;
    }
    let overrides: Record<string, unknown> | undefined;
    if (values.overrides) {
      try {
        overrides = JSON.parse(values.overrides) as Record<string, unknown>;
      } catch (err) {
        throw new CliError(`--overrides is not JSON: ${(err as Error).message}`);
      }
    }
    const { client, close } = await connectTemporal();
    try {
      const handle = client.workflow.getHandle<typeof retrainRecall>(id);
      // The Update answers: a refused retry (nothing waits, another stage waits, overrides that do
      // not resolve) comes back with its reason, and the run keeps waiting.
      const accepted = await handle.executeUpdate(retryStageUpdate, { args: [{ ...(values.stage ? { stage: values.stage } : {}), ...(overrides ? { overrides } : {}) }] }).catch((err: unknown) => {
        if (err instanceof WorkflowUpdateFailedError) throw new CliError(`${id}: ${err.cause?.message ?? err.message}`);
        throw err;
      });
      console.log(`retrying ${accepted.stage} of ${id}${accepted.overrides.length ? ` with overrides ${JSON.stringify(accepted.overrides)}` : ''}`);
      if (values.follow) await followRetrain(handle);
    } finally {
      await close();
    }
  },
};

export const abortCommand: Command = {
  summary: 'abort a retrain that waits after a failed stage',
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { reason: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
    const id = positionals[0];
    if (values.help || !id) {
      console.log('usage: curio abort WORKFLOW_ID [--reason TEXT]');
      return;
    }
    const { client, close } = await connectTemporal();
    try {
      await client.workflow.getHandle(id).signal(abortSignal, values.reason ?? 'aborted from the command line');
      console.log(`sent abort to ${id}`);
    } finally {
      await close();
    }
  },
};
