/**
 * Where the local services listen. Every value can be overridden from the environment; each is
 * validated here, at the edge, so the rest of the code can trust it.
 */
export interface Settings {
  temporalAddress: string;
  temporalNamespace: string;
  temporalPort: number;
  temporalUiPort: number;
  temporalUiUrl: string;
  mlflowPort: number;
  mlflowTrackingUri: string;
  pipelineTaskQueue: string;
  trainingTaskQueue: string;
}

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new Error(`${name}=${raw} is not a valid TCP port (1-65535)`);
  }
  return n;
}

function url(name: string, fallback: string): string {
  const raw = process.env[name] ?? fallback;
  try {
    return new URL(raw).toString().replace(/\/$/, '');
  } catch {
    throw new Error(`${name}=${raw} is not a valid URL`);
  }
}

export function loadSettings(): Settings {
  const temporalPort = port('CURIO_TEMPORAL_PORT', 7233);
  const temporalUiPort = port('CURIO_TEMPORAL_UI_PORT', 8233);
  const mlflowPort = port('CURIO_MLFLOW_PORT', 5000);
  return {
    temporalPort,
    temporalUiPort,
    temporalAddress: process.env.TEMPORAL_ADDRESS ?? `127.0.0.1:${temporalPort}`,
    temporalNamespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
    temporalUiUrl: url('CURIO_TEMPORAL_UI_URL', `http://127.0.0.1:${temporalUiPort}`),
    mlflowPort,
    mlflowTrackingUri: url('MLFLOW_TRACKING_URI', `http://127.0.0.1:${mlflowPort}`),
    pipelineTaskQueue: process.env.CURIO_PIPELINE_TASK_QUEUE ?? 'curio-pipeline',
    trainingTaskQueue: process.env.CURIO_TRAINING_TASK_QUEUE ?? 'curio-training',
  };
}
