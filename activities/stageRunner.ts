import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Progress } from '../models/training';
import { contentKey, folderDigest, produceStage } from '../stages/artifacts';
import { checkInputRefs, openArtifactStore, type StoreIdentity } from '../stages/artifactStore';
import { CurioError } from '../platform/errors';
import { dataDir } from '../platform/paths';
import type { StageSpec } from '../stages/spec';
import type { StageRef } from '../workflows/types';

/**
 * What every stage activity shares: content-addressed output folders (a retry or re-run finds the
 * finished folder and skips the work), progress heartbeats with details, and the mapping of domain
 * errors to Temporal failures — bad data or config is non-retryable and typed, everything else is
 * retried with backoff.
 */

export function artifactsRoot(): string {
  return process.env.CURIO_ARTIFACTS_DIR ?? join(dataDir, 'artifacts');
}

const stores = new Map<string, StoreIdentity>();

/** This process's artifact store (opened, and checked writable, once per root). */
export function artifactStore(root = artifactsRoot()): StoreIdentity {
  let store = stores.get(root);
  if (!store) {
    store = openArtifactStore(root);
    stores.set(root, store);
  }
  return store;
}

/** A Curio error becomes a Temporal failure of its type; one that a retry cannot fix is non-retryable. */
export function toFailure(err: unknown): unknown {
  if (err instanceof CurioError) return ApplicationFailure.create({ message: err.message, type: err.type, nonRetryable: !err.retryable, cause: err });
  return err;
}

export interface HeartbeatDetails {
  stage: string;
  phase: string;
  model?: string;
  epoch?: number;
  epochs?: number;
  step?: number;
  stepsPerEpoch?: number;
  loss?: number;
}

/** Heartbeats on a timer (so slow SQL still proves the worker alive) and on every training report. */
export function heartbeater(stage: string): { progress: (p: Progress) => void; phase: (name: string) => void; stop: () => void } {
  let details: HeartbeatDetails = { stage, phase: 'starting' };
  const ctx = Context.current();
  const beat = () => ctx.heartbeat(details);
  const timer = setInterval(beat, 5_000);
  beat();
  return {
    progress: (p) => {
      details = { stage, phase: 'training', model: p.model, epoch: p.epoch, epochs: p.epochs, step: p.step, stepsPerEpoch: p.stepsPerEpoch, loss: p.loss };
      beat();
    },
    phase: (name) => {
      details = { ...details, phase: name };
      beat();
    },
    stop: () => clearInterval(timer),
  };
}

/**
 * Runs a stage into its content-addressed folder, or returns the finished folder. `keyInput` must
 * hold everything the output depends on (input refs' digests and the config).
 */
export async function runStage<R>(
  stage: string,
  keyInput: unknown,
  produce: (io: { out: string; scratch: string; onProgress: (p: Progress) => void; phase: (name: string) => void; signal: AbortSignal }) => Promise<R>,
  summarize: (report: R) => Record<string, number | string>,
): Promise<{ ref: StageRef; report: R }> {
  const key = contentKey(keyInput);
  const hb = heartbeater(stage);
  const ctx = Context.current();
  try {
    // The attempt's own scratch and output folders: a timed-out attempt still running (its worker
    // alive but late) cannot touch its retry's, and whichever finishes first publishes the stage.
    const attempt = `attempt-${ctx.info.attempt}-${randomUUID().slice(0, 8)}`;
    const store = artifactStore();
    const { dir, manifest, reused } = await produceStage(
      artifactsRoot(),
      stage,
      key,
      (io) => produce({ ...io, onProgress: hb.progress, phase: hb.phase, signal: ctx.cancellationSignal }),
      { attempt },
    );
    // The activity attempt that finished the stage: above 1 means Temporal retried it (e.g. after a worker died).
    const summary = { ...summarize(manifest.report), activityAttempt: ctx.info.attempt };
    return { ref: { stage, key, dir, digest: folderDigest(manifest), reused, store: store.id, summary }, report: manifest.report };
  } catch (err) {
    throw toFailure(err);
  } finally {
    hb.stop();
  }
}

/** Runs a stage spec into its content-addressed folder (the one generic activity body). */
export async function runSpec<I, R>(spec: StageSpec<I, R, Readonly<Record<string, string>>>, input: I): Promise<StageRef> {
  let keyInput: unknown;
  try {
    // Inputs first: a host that does not share the store must not compute on what it cannot see.
    checkInputRefs(input, artifactStore(), artifactsRoot());
    keyInput = spec.key(input);
  } catch (err) {
    throw toFailure(err);
  }
  const { ref } = await runStage(spec.name, keyInput, (io) => spec.run(input, io), (r) => spec.summary(r, input));
  return ref;
}
