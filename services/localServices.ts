import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir, logDir, mlflowBinary, projectRoot, runDir, temporalBinary } from '../platform/paths';
import { loadSettings, type Settings } from '../platform/settings';
import type { ServiceSpec } from './processManager';
import { trainingWorkerCount } from '../workers/trainingLayout';

/** The services `make services-up` starts: the Temporal dev server (with its Web UI) and MLflow. */
export function temporalSpec(settings: Settings = loadSettings(), dir = dataDir): ServiceSpec {
  return {
    name: 'temporal',
    command: temporalBinary,
    args: [
      'server', 'start-dev',
      // Persisted, so workflow history survives a restart of the dev server.
      '--db-filename', join(dir, 'temporal.db'),
      '--ip', '127.0.0.1',
      '--port', String(settings.temporalPort),
      '--ui-port', String(settings.temporalUiPort),
      '--namespace', settings.temporalNamespace,
      '--log-level', 'warn',
      ...temporalSearchAttributeArgs(),
      ...TEMPORAL_SINGLE_PARTITION_ARGS,
    ],
    cwd: projectRoot,
    ports: [
      { port: settings.temporalPort, label: 'gRPC', envVar: 'CURIO_TEMPORAL_PORT' },
      { port: settings.temporalUiPort, label: 'Web UI', envVar: 'CURIO_TEMPORAL_UI_PORT' },
    ],
    readyUrl: `http://127.0.0.1:${settings.temporalUiPort}/`,
    logFile: join(dir, 'logs', 'temporal.log'),
    pidFile: join(dir, 'run', 'temporal.pid'),
    startTimeoutMs: 60_000,
    installHint: 'Run `make install` (it builds the Temporal CLI with go install).',
  };
}

/** Custom search attributes Curio's workflows set, registered when the dev server starts. */
export const TEMPORAL_SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime'> = {
  CurioDataset: 'Keyword',
  CurioScale: 'Keyword',
  CurioOutcome: 'Keyword',
};

/**
 * One partition per task queue. The dev server splits a queue into four; with a single training
 * slot, a sweep trial that waited in one partition sat there for 8 minutes while the worker, idle,
 * was handed the trials scheduled after it (`make demo`, small: λ = 0 scheduled 06:48:42, started
 * 07:01:42; the worker idle from 06:53:47). A local server has no use for partitions.
 */
export const TEMPORAL_SINGLE_PARTITION_ARGS = [
  '--dynamic-config-value', 'matching.numTaskqueueReadPartitions=1',
  '--dynamic-config-value', 'matching.numTaskqueueWritePartitions=1',
];

function temporalSearchAttributeArgs(): string[] {
  return Object.entries(TEMPORAL_SEARCH_ATTRIBUTES).flatMap(([k, t]) => ['--search-attribute', `${k}=${t}`]);
}

export function mlflowSpec(settings: Settings = loadSettings(), dir = dataDir): ServiceSpec {
  return {
    name: 'mlflow',
    command: mlflowBinary,
    args: [
      'server',
      '--backend-store-uri', `sqlite:///${join(dir, 'mlflow.db')}`,
      // Artifact proxying: clients upload and download through the tracking server's REST API.
      '--artifacts-destination', join(dir, 'mlartifacts'),
      '--host', '127.0.0.1',
      '--port', String(settings.mlflowPort),
      '--workers', '2',
    ],
    cwd: dir,
    ports: [{ port: settings.mlflowPort, label: 'HTTP (UI and REST)', envVar: 'CURIO_MLFLOW_PORT' }],
    readyUrl: `http://127.0.0.1:${settings.mlflowPort}/health`,
    logFile: join(dir, 'logs', 'mlflow.log'),
    pidFile: join(dir, 'run', 'mlflow.pid'),
    startTimeoutMs: 120_000,
    installHint: 'Run `make install` (it creates the MLflow virtual environment under .tools/).',
  };
}

export type WorkerKind = 'pipeline' | 'training';

/** A Curio worker process, managed like a service so `make demo` can leave it running; training workers are numbered from 1. */
export function workerSpec(kind: WorkerKind, n = 1): ServiceSpec {
  const name = n === 1 ? `worker-${kind}` : `worker-${kind}-${n}`;
  return {
    name,
    command: process.execPath,
    args: [join(projectRoot, 'dist', 'workers', `${kind}Worker.js`)],
    cwd: projectRoot,
    env: { CURIO_WORKER_READY_FILE: join(runDir, `${name}.ready`) },
    ports: [],
    readyFile: join(runDir, `${name}.ready`),
    logFile: join(logDir, `${name}.log`),
    pidFile: join(runDir, `${name}.pid`),
    startTimeoutMs: 90_000,
    installHint: 'Run `make build`.',
  };
}

export function coreServices(settings: Settings = loadSettings()): ServiceSpec[] {
  return [temporalSpec(settings), mlflowSpec(settings)];
}

/**
 * The pipeline worker and the training workers (workers/trainingLayout.ts: CURIO_TRAINING_WORKERS,
 * default min(cores, 2)); with `including: 'started'`, also training workers an earlier `up` with a
 * larger count left running (found by their pid files), so that `down` stops every one.
 */
export function workerServices(options: { including?: 'started' } = {}): ServiceSpec[] {
  const count = trainingWorkerCount();
  let highest = count;
  if (options.including === 'started' && existsSync(runDir)) {
    for (const f of readdirSync(runDir)) {
      const m = /^worker-training-(\d+)\.pid$/.exec(f);
      if (m) highest = Math.max(highest, Number(m[1]));
    }
  }
  return [workerSpec('pipeline'), ...Array.from({ length: highest }, (_, i) => workerSpec('training', i + 1))];
}
