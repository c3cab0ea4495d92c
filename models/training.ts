import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertNativeBackend, tf } from '../platform/tf';
import { Rng } from '../data/generator/rng';
import { CurioError } from '../platform/errors';

/**
 * The training loop all of Curio's models share: seeded shuffling, mini-batches, a progress callback
 * (activities turn it into Temporal heartbeats), a checkpoint after every epoch, resumption from the
 * latest checkpoint, NaN detection, and tensor/RSS accounting to catch leaks.
 */

export interface Progress {
  model: string;
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  loss: number;
}

export interface EpochStats {
  epoch: number;
  loss: number;
  seconds: number;
  examplesPerSecond: number;
  numTensors: number;
  rssMb: number;
}

export class NanLossError extends CurioError {
  constructor(
    readonly model: string,
    readonly epoch: number,
    readonly step: number,
    readonly batchRows: [number, number],
  ) {
    super(`${model}: loss became NaN at epoch ${epoch}, step ${step} (batch of shuffled rows ${batchRows[0]}..${batchRows[1]}); training stopped`, {
      type: 'NanLossError',
      retryable: false,
    });
  }
}

export class EmptyTrainingSetError extends CurioError {
  constructor(model: string, what: string) {
    super(`${model}: no training examples (${what}); nothing to train on`, { type: 'TrainingDataError', retryable: false });
  }
}

/** Trainable variables of layers models, in a stable order (optimizer state is saved by position). */
export function trainableVariables(...models: tf.LayersModel[]): tf.Variable[] {
  return models.flatMap((m) => m.trainableWeights.map((w) => w.read() as tf.Variable));
}

/** What every training function takes from its caller: where to checkpoint, whom to tell, when to stop. */
export interface TrainOptions {
  checkpointDir?: string;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
}

/** The TrainSpec fields that come from TrainOptions, without keys for the options not given. */
export function fromOptions(opts: TrainOptions): Pick<TrainSpec<unknown>, 'checkpointDir' | 'onProgress' | 'signal'> {
  return {
    ...(opts.checkpointDir ? { checkpointDir: opts.checkpointDir } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
}

export interface TrainSpec<B> {
  name: string;
  examples: number;
  epochs: number;
  /**
   * At most this many examples an epoch (0 or absent: all): each epoch trains on the head of its own
   * shuffled order, so a training's cost stops growing with the data while successive epochs still
   * see different examples. The budget that bounds a large retrain's time (see the README's Scale).
   */
  examplesPerEpoch?: number;
  batchSize: number;
  seed: number;
  optimizer: tf.Optimizer;
  /** Models whose weights the checkpoint holds. */
  models: tf.LayersModel[];
  /** Variables to train in an epoch (e.g. the item tower frozen in early epochs). */
  variables: (epoch: number) => tf.Variable[];
  /** Builds one batch's inputs from the (shuffled) example indices. */
  batch: (rows: Int32Array, epoch: number, step: number) => B;
  /** The loss of one batch, inside tf's gradient tape. */
  loss: (batch: B) => tf.Scalar;
  disposeBatch?: (batch: B) => void;
  checkpointDir?: string;
  onProgress?: (p: Progress) => void;
  /**
   * Checked before every step: once aborted (a Temporal activity's cancellation, a Ctrl-C), training
   * stops between two steps and throws the signal's reason; the caller disposes its models.
   */
  signal?: AbortSignal;
  /** Progress is reported at most this often (ms). */
  progressEveryMs?: number;
}

export interface TrainResult {
  epochs: EpochStats[];
  /** Epoch the run resumed after (0 when it started fresh). */
  resumedFromEpoch: number;
  epochsRun: number[];
}

interface CheckpointMeta {
  epoch: number;
  stats: EpochStats[];
}

/** Latest complete checkpoint: meta.json is written last, so a crash mid-save leaves none. */
export function latestCheckpoint(dir: string): { epoch: number; path: string } | undefined {
  if (!existsSync(dir)) return undefined;
  const epochs = readdirSync(dir)
    .map((d) => /^epoch-(\d+)$/.exec(d))
    .filter((m): m is RegExpExecArray => m !== null && existsSync(join(dir, m[0], 'meta.json')))
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a);
  const e = epochs[0];
  return e === undefined ? undefined : { epoch: e, path: join(dir, `epoch-${e}`) };
}

async function saveCheckpoint(dir: string, epoch: number, models: tf.LayersModel[], optimizer: tf.Optimizer, stats: EpochStats[]): Promise<void> {
  const final = join(dir, `epoch-${epoch}`);
  const tmp = `${final}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const [i, m] of models.entries()) {
    const encoded = await tf.io.encodeWeights(m.getWeights().map((t, k) => ({ name: `w${k}`, tensor: t })));
    writeFileSync(join(tmp, `model-${i}.bin`), Buffer.from(encoded.data));
    writeFileSync(join(tmp, `model-${i}.json`), JSON.stringify(encoded.specs));
  }
  const optWeights = await optimizer.getWeights();
  const opt = await tf.io.encodeWeights(optWeights.map((w, k) => ({ name: `o${k}`, tensor: w.tensor })));
  writeFileSync(join(tmp, 'optimizer.bin'), Buffer.from(opt.data));
  writeFileSync(join(tmp, 'optimizer.json'), JSON.stringify(opt.specs));
  writeFileSync(join(tmp, 'meta.json'), JSON.stringify({ epoch, stats } satisfies CheckpointMeta));
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  // Older checkpoints are no longer needed to resume.
  for (const d of readdirSync(dir)) {
    const m = /^epoch-(\d+)$/.exec(d);
    if (m && Number(m[1]) < epoch) rmSync(join(dir, d), { recursive: true, force: true });
  }
}

function readWeights(dir: string, name: string): tf.NamedTensorMap {
  const specs = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Parameters<typeof tf.io.decodeWeights>[1];
  const buf = readFileSync(join(dir, `${name}.bin`));
  return tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), specs);
}

async function loadCheckpoint(path: string, models: tf.LayersModel[], optimizer: tf.Optimizer): Promise<CheckpointMeta> {
  for (const [i, m] of models.entries()) {
    const w = readWeights(path, `model-${i}`);
    const list = m.getWeights().map((_, k) => w[`w${k}`] as tf.Tensor);
    m.setWeights(list);
    list.forEach((t) => t.dispose());
  }
  const o = readWeights(path, 'optimizer');
  const named = Object.keys(o)
    .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))
    .map((k) => ({ name: k, tensor: o[k] as tf.Tensor }));
  await optimizer.setWeights(named);
  return JSON.parse(readFileSync(join(path, 'meta.json'), 'utf8')) as CheckpointMeta;
}

/** The example order of an epoch: a pure function of (seed, epoch), so a resumed run sees the same batches. */
export function epochOrder(n: number, seed: number, epoch: number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const rng = new Rng(seed, 10_000 + epoch);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i] as number;
    order[i] = order[j] as number;
    order[j] = t;
  }
  return order;
}

export async function train<B>(spec: TrainSpec<B>): Promise<TrainResult> {
  assertNativeBackend();
  if (spec.examples <= 0) throw new EmptyTrainingSetError(spec.name, 'the example table is empty');
  let startEpoch = 1;
  let stats: EpochStats[] = [];
  let resumedFromEpoch = 0;
  if (spec.checkpointDir) {
    mkdirSync(spec.checkpointDir, { recursive: true });
    const latest = latestCheckpoint(spec.checkpointDir);
    if (latest) {
      const meta = await loadCheckpoint(latest.path, spec.models, spec.optimizer);
      startEpoch = meta.epoch + 1;
      stats = meta.stats;
      resumedFromEpoch = meta.epoch;
    }
  }
  const perEpoch = spec.examplesPerEpoch ? Math.min(spec.examples, spec.examplesPerEpoch) : spec.examples;
  const stepsPerEpoch = Math.ceil(perEpoch / spec.batchSize);
  const epochsRun: number[] = [];
  const every = spec.progressEveryMs ?? 2000;
  for (let epoch = startEpoch; epoch <= spec.epochs; epoch++) {
    const t0 = Date.now();
    const order = epochOrder(spec.examples, spec.seed, epoch);
    const vars = spec.variables(epoch);
    let sum = 0;
    let lastReport = 0;
    for (let step = 0; step < stepsPerEpoch; step++) {
      spec.signal?.throwIfAborted();
      const from = step * spec.batchSize;
      const rows = order.subarray(from, Math.min(perEpoch, from + spec.batchSize));
      const batch = spec.batch(rows, epoch, step);
      let loss: number;
      try {
        const cost = spec.optimizer.minimize(() => spec.loss(batch), true, vars) as tf.Scalar;
        loss = cost.dataSync()[0] as number;
        cost.dispose();
      } finally {
        spec.disposeBatch?.(batch);
      }
      if (!Number.isFinite(loss)) throw new NanLossError(spec.name, epoch, step, [from, from + rows.length - 1]);
      // TensorFlow's kernels run synchronously: give the event loop a turn so heartbeats and
      // cancellation get through between steps.
      await new Promise<void>((r) => setImmediate(r));
      sum += loss * rows.length;
      const now = Date.now();
      if (spec.onProgress && (now - lastReport >= every || step === stepsPerEpoch - 1)) {
        lastReport = now;
        spec.onProgress({ model: spec.name, epoch, epochs: spec.epochs, step: step + 1, stepsPerEpoch, loss });
      }
    }
    const seconds = (Date.now() - t0) / 1000;
    stats.push({
      epoch,
      loss: sum / perEpoch,
      seconds,
      examplesPerSecond: perEpoch / Math.max(seconds, 1e-6),
      numTensors: tf.memory().numTensors,
      rssMb: process.memoryUsage().rss / 1024 / 1024,
    });
    epochsRun.push(epoch);
    if (spec.checkpointDir) await saveCheckpoint(spec.checkpointDir, epoch, spec.models, spec.optimizer, stats);
  }
  return { epochs: stats, resumedFromEpoch, epochsRun };
}
