/**
 * One scale of the model benchmark, in its own process (its peak RSS is its own): the whole local
 * retrain on a generated marketplace, then a micro-benchmark of dense embedding-table updates.
 * Prints one JSON line; bench/models.ts formats it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateMarketplace } from '../data/generator/generate';
import { isScaleName, SCALES } from '../data/generator/scales';
import { localRetrain } from '../stages/localRetrain';
import { tf } from '../platform/tf';

/** Seconds per Adam step on an n × 64 embedding table with a batch of 4096 lookups. */
function denseUpdateStep(n: number): number {
  const table = tf.variable(tf.randomNormal([n, 64], 0, 0.1, 'float32', 1));
  const opt = tf.train.adam(0.01);
  const ids = tf.tensor1d(Int32Array.from({ length: 4096 }, (_, i) => (i * 7919) % n), 'int32');
  const step = () => opt.minimize(() => tf.mean(tf.square(tf.gather(table, ids))) as tf.Scalar, false, [table]);
  for (let i = 0; i < 3; i++) step();
  const t0 = process.hrtime.bigint();
  const reps = 10;
  for (let i = 0; i < reps; i++) step();
  const s = Number(process.hrtime.bigint() - t0) / 1e9 / reps;
  table.dispose();
  opt.dispose();
  ids.dispose();
  return s;
}

async function main(): Promise<void> {
  const scale = process.argv[2] ?? 'small';
  if (!isScaleName(scale)) throw new Error(`unknown scale ${scale}`);
  const dir = mkdtempSync(join(tmpdir(), `curio-bench-models-${scale}-`));
  try {
    await generateMarketplace({ scale, seed: 7, out: join(dir, 'data') });
    const r = await localRetrain({ dataDir: join(dir, 'data'), artifactsRoot: join(dir, 'artifacts') });
    const n = SCALES[scale].items;
    console.log(
      JSON.stringify({
        scale,
        stageSeconds: r.seconds,
        trainings: {
          item_unit: r.itemEmbedding.itemUnit,
          item2vec: r.itemEmbedding.item2vec,
          keyword_dssm: r.keyword.withTransfer.training,
          keyword_no_transfer: r.keyword.withoutTransfer.training,
          multi_interest: r.multiInterest.multiInterest.training,
          youtube_dnn: r.multiInterest.youtubeDnn?.training,
        },
        denseUpdateSeconds: { [n]: denseUpdateStep(n), 1000: denseUpdateStep(1000) },
        nextSessionRecallAt50: Object.fromEntries(r.evaluation.nextSession.test.methods.map((m) => [m.method, m.recall_at_50])),
        comirecRecallAt50: Object.fromEntries(r.evaluation.comirec.methods.map((m) => [m.method, m.recall_at_50])),
        peakRssMb: process.resourceUsage().maxRSS / 1024,
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
