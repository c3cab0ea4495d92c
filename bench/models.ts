/**
 * npm run bench:models [-- small medium]
 * Prints, per model and scale: examples per second, seconds per epoch, RSS growth over epochs; per
 * scale: stage times and peak RSS; and the cost of a dense Adam update of an embedding table, which
 * is what an id-based table (item2vec) pays per step. Target: the three trainings plus evaluation
 * at small scale in under 5 minutes on 2 cores.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

interface Training {
  epochs: { epoch: number; seconds: number; examplesPerSecond: number; rssMb: number }[];
  seconds: number;
  rssGrowthMb: number;
}

const scales = process.argv.slice(2).length ? process.argv.slice(2) : ['small', 'medium'];
for (const scale of scales) {
  const out = execFileSync(process.execPath, [join(__dirname, 'modelsScale.js'), scale], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  const r = JSON.parse(out.trim().split('\n').pop() ?? '{}') as {
    stageSeconds: Record<string, number>;
    trainings: Record<string, Training | undefined>;
    denseUpdateSeconds: Record<string, number>;
    nextSessionRecallAt50: Record<string, number>;
    comirecRecallAt50: Record<string, number>;
    peakRssMb: number;
  };
  console.log(`\n== model benchmark: ${scale} ==`);
  console.log('model                 epochs  s/epoch  examples/s  RSS growth (MB, first→last epoch)');
  for (const [name, t] of Object.entries(r.trainings)) {
    if (!t) continue;
    const sPer = t.epochs.reduce((s, e) => s + e.seconds, 0) / Math.max(1, t.epochs.length);
    const eps = t.epochs.reduce((s, e) => s + e.examplesPerSecond, 0) / Math.max(1, t.epochs.length);
    console.log(`${name.padEnd(21)} ${String(t.epochs.length).padStart(6)} ${sPer.toFixed(1).padStart(8)} ${eps.toFixed(0).padStart(11)}  ${t.rssGrowthMb.toFixed(1)}`);
  }
  const stages = ['item_embedding', 'keyword', 'multi_interest', 'multi_interest_lambda0', 'evaluation'];
  const modelSeconds = stages.reduce((s, k) => s + (r.stageSeconds[k] ?? 0), 0);
  for (const k of stages) console.log(`stage ${k.padEnd(24)} ${(r.stageSeconds[k] ?? 0).toFixed(1)} s`);
  console.log(`trainings + evaluation  ${modelSeconds.toFixed(1)} s (of which the extra λ = 0 run ${(r.stageSeconds.multi_interest_lambda0 ?? 0).toFixed(1)} s)`);
  const dense = Object.entries(r.denseUpdateSeconds).map(([n, s]) => `${n} rows: ${(1000 * s).toFixed(1)} ms`).join(', ');
  console.log(`dense Adam step on an embedding table (batch 4096): ${dense}`);
  const recalls = (x: Record<string, number>) => Object.entries(x).map(([m, v]) => `${m} ${(100 * v).toFixed(2)}%`).join(', ');
  console.log(`next-session Recall@50 (test): ${recalls(r.nextSessionRecallAt50)}`);
  console.log(`ComiRec Recall@50 (test users): ${recalls(r.comirecRecallAt50)}`);
  console.log(`peak RSS ${r.peakRssMb.toFixed(0)} MB`);
}
