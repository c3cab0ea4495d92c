#!/usr/bin/env node
// First: fixes native thread counts before Faiss and OpenBLAS load.
import './nativeThreads';
import { demoCommand } from './commands/demo';
import { generateCommand } from './commands/generate';
import { ingestCommand } from './commands/ingest';
import { importCommand } from './commands/import';
import { taggingEvalCommand } from './commands/taggingEval';
import { trainCommand } from './commands/train';
import { abortCommand, retrainCommand, retryCommand } from './commands/retrain';
import { abTestCommand } from './commands/abTest';
import { compareCommand } from './commands/compare';
import { trackingCommand } from './commands/tracking';
import { scheduleCommand } from './commands/schedule';
import { replayCommand } from './commands/replay';
import { servicesCommand } from './commands/services';
import { smokeCommand } from './commands/smoke';
import { workersCommand } from './commands/workers';
import { versionsCommand } from './commands/versions';
import { serveCommand } from './commands/serve';
import { CurioError } from '../platform/errors';
import { CliError } from './cliError';
import type { Command } from './command';


const commands: Record<string, Command> = {
  generate: generateCommand,
  ingest: ingestCommand,
  import: importCommand,
  'tagging-eval': taggingEvalCommand,
  train: trainCommand,
  retrain: retrainCommand,
  retry: retryCommand,
  abort: abortCommand,
  schedule: scheduleCommand,
  replay: replayCommand,
  'ab-test': abTestCommand,
  compare: compareCommand,
  tracking: trackingCommand,
  services: servicesCommand,
  workers: workersCommand,
  serve: serveCommand,
  smoke: smokeCommand,
  demo: demoCommand,
  versions: versionsCommand,
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: curio <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'curio <command> --help' for a command's options.`;
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return;
  }
  const command = commands[name];
  if (!command) throw new CliError(`unknown command '${name}'\n\n${usage()}`);
  await command.run(rest);
}

function isArgumentError(err: unknown): err is Error {
  return err instanceof TypeError && String((err as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS_');
}

main(process.argv.slice(2)).then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    // Errors Curio raises on purpose carry a message written for the user; anything else is a bug.
    if (err instanceof CurioError) {
      console.error(`curio: ${err.message}`);
    } else if (isArgumentError(err)) {
      // node:util parseArgs: an unknown option, a missing value, a stray positional.
      const name = process.argv[2] ?? '';
      console.error(`curio ${name}: ${err.message}\nRun 'curio ${name} --help' for its options.`);
    } else {
      console.error('curio: unexpected error:', err);
    }
    process.exit(1);
  },
);
