import { join } from 'node:path';
import { dataDir } from '../platform/paths';
import { loadSettings } from '../platform/settings';
import { TrackingInputError } from './naming';
import { DEFAULT_EXPERIMENT, Tracker, type TrackerOptions } from './tracking';

/**
 * The tracker workers and the CLI use, configured from the environment (validated here):
 *   MLFLOW_TRACKING_URI         the server (via platform/settings)
 *   CURIO_MLFLOW_EXPERIMENT     experiment of the run trees (default curio-retrain)
 *   CURIO_TRACKING_BUFFER_DIR   the durable buffer (default .data/mlflow-buffer)
 *   CURIO_TRACKING_STRICT       1/true: tracking errors fail the caller instead of being buffered or reported
 */
export function trackerOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): TrackerOptions {
  const settings = loadSettings();
  const strictRaw = (env.CURIO_TRACKING_STRICT ?? '').trim().toLowerCase();
  if (!['', '0', '1', 'true', 'false'].includes(strictRaw)) {
    throw new TrackingInputError(`CURIO_TRACKING_STRICT=${env.CURIO_TRACKING_STRICT} must be 1, 0, true or false`);
  }
  return {
    trackingUri: settings.mlflowTrackingUri,
    experimentName: env.CURIO_MLFLOW_EXPERIMENT?.trim() || DEFAULT_EXPERIMENT,
    bufferDir: env.CURIO_TRACKING_BUFFER_DIR?.trim() || join(dataDir, 'mlflow-buffer'),
    strict: strictRaw === '1' || strictRaw === 'true',
    temporal: { uiUrl: settings.temporalUiUrl, namespace: settings.temporalNamespace },
  };
}

export function createTracker(overrides: Partial<TrackerOptions> = {}): Tracker {
  return new Tracker({ ...trackerOptionsFromEnv(), ...overrides });
}
