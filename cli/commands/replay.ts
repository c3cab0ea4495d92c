import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { CliError } from '../cliError';
import type { Command } from '../command';

/**
 * Replays a recorded workflow history against the current workflow code: a non-deterministic
 * change (one that needs patched() versioning before deployment) fails here instead of in production.
 * Histories come from `temporal workflow show --output json` (or the Web UI's JSON download).
 */
export const replayCommand: Command = {
  summary: 'replay a recorded workflow history against the current workflow code (determinism check)',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { 'workflow-id': { type: 'string' }, workflows: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    const file = positionals[0];
    if (values.help || !file) {
      console.log('usage: curio replay HISTORY.json [--workflow-id ID] [--workflows PATH]\n  HISTORY.json: `temporal workflow show --workflow-id ID --output json > HISTORY.json`');
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(resolve(file), 'utf8'));
    } catch (err) {
      throw new CliError(`${file}: ${(err as Error).message}`);
    }
    // Either the CLI's history JSON, or {workflowId, history} as the test fixture stores it.
    const wrapped = parsed as { workflowId?: string; history?: unknown };
    const history = wrapped.history ?? parsed;
    const workflowId = values['workflow-id'] ?? wrapped.workflowId;
    const workflowsPath = values.workflows ? resolve(values.workflows) : require.resolve('../../workflows');
    Runtime.install({ logger: new DefaultLogger('WARN') });
    try {
      await Worker.runReplayHistory({ workflowsPath }, history, workflowId);
    } catch (err) {
      throw new CliError(`replay of ${file} failed: ${(err as Error).message}`);
    }
    console.log(`replayed ${file}${workflowId ? ` (${workflowId})` : ''}: deterministic`);
  },
};
