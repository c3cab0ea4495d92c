import { writeFileSync, rmSync } from 'node:fs';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { loadSettings } from '../platform/settings';
import { artifactStore, artifactsRoot } from '../activities/stageRunner';
import type { WorkerContext } from './createWorkers';

/**
 * Runs one worker until SIGINT/SIGTERM (the Temporal runtime's shutdown signals), which drain the
 * in-flight activities before the process exits.
 */
export async function runWorker(name: string, create: (ctx: WorkerContext) => Promise<Worker>): Promise<void> {
  const settings = loadSettings();
  // Before polling: a host without the shared artifact store (or with it read-only) takes no work.
  const store = artifactStore();
  console.log(`${name} worker: artifact store ${store.id} at ${artifactsRoot()} (created on ${store.createdOn})`);
  const connection = await NativeConnection.connect({ address: settings.temporalAddress });
  const readyFile = process.env.CURIO_WORKER_READY_FILE;
  try {
    const worker = await create({ connection, namespace: settings.temporalNamespace });
    console.log(`${name} worker polling ${worker.options.taskQueue} on ${settings.temporalAddress}`);
    const running = worker.run();
    if (readyFile) writeFileSync(readyFile, `${process.pid}\n`);
    await running;
  } finally {
    if (readyFile) rmSync(readyFile, { force: true });
    await connection.close();
  }
  console.log(`${name} worker stopped`);
}

export function main(name: string, create: (ctx: WorkerContext) => Promise<Worker>): void {
  runWorker(name, create).catch((err: unknown) => {
    console.error(`${name} worker failed:`, err);
    process.exit(1);
  });
}
