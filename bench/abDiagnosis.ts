/**
 * Controlled variants of the A/B simulation, to find out why the trained multi-interest arm loses to
 * item-CF. Each variant changes one thing about arm B (or arm A's refresh) and reruns the same
 * simulation (same users, sessions and seeds). Diagnostics only: the oracle pieces read the truth.
 *
 *   node dist/bench/abDiagnosis.js --seed 1 [--variants a,b,c] [--artifacts DIR]
 *
 * Reads the newest finished stage folders under the artifacts root (default: the local services'
 * `.data/artifacts`, where `make demo` leaves a small-scale retrain).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_AB, type AbConfig } from '../evaluation/abConfig';
import type { ArmBModels } from '../evaluation/abFeeds';
import { simulateAbTest, type AbReport } from '../evaluation/abTest';
import { truthOracle } from '../evaluation/oracleModel';
import type { Truth } from '../evaluation/truth';
import { readItemVectors } from '../models/vectorFiles';
import { trainedInterestModel } from '../models/trainedInterestModel';
import type { InterestModel } from '../retrieval/types';
import { dataDir } from '../platform/paths';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    variants: { type: 'string', default: '' },
    artifacts: { type: 'string', default: join(dataDir, 'artifacts') },
    bootstrap: { type: 'string', default: '500' },
  },
});
const art = values.artifacts as string;
/** The newest finished (manifest.json written) folder of a stage. */
function latestStageDir(stage: string): string {
  const root = join(art, stage);
  const done = existsSync(root) ? readdirSync(root).filter((d) => existsSync(join(root, d, 'manifest.json'))) : [];
  if (done.length === 0) throw new Error(`no finished ${stage} stage under ${art}: run a retrain first (make demo)`);
  const newest = done.map((d) => ({ d, t: statSync(join(root, d, 'manifest.json')).mtimeMs })).sort((a, b) => b.t - a.t)[0]?.d as string;
  return join(root, newest);
}
const paths = {
  data: join(latestStageDir('generated'), 'data'),
  features: join(latestStageDir('features'), 'features.duckdb'),
  tags: join(latestStageDir('tagging'), 'tags.duckdb'),
  itemVectors: join(latestStageDir('item_embedding'), 'item_vectors.parquet'),
  multiInterest: join(latestStageDir('multi_interest'), 'multi_interest'),
};

function unitRows(v: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length / dim; i++) {
    let n = 0;
    for (let d = 0; d < dim; d++) n += (v[i * dim + d] as number) ** 2;
    n = Math.sqrt(n) || 1;
    for (let d = 0; d < dim; d++) out[i * dim + d] = (v[i * dim + d] as number) / n;
  }
  return out;
}

/** Least squares W (a × b) with X W ≈ Y, X: n × a, Y: n × b (ridge 1e-3). */
function leastSquares(X: Float32Array, a: number, Y: Float32Array, b: number): Float64Array {
  const n = X.length / a;
  const A = new Float64Array(a * (a + b));
  const w = a + b;
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < a; p++) {
      const xp = X[i * a + p] as number;
      for (let q = 0; q < a; q++) A[p * w + q]! += xp * (X[i * a + q] as number);
      for (let q = 0; q < b; q++) A[p * w + a + q]! += xp * (Y[i * b + q] as number);
    }
  }
  for (let p = 0; p < a; p++) A[p * w + p]! += 1e-3;
  for (let c = 0; c < a; c++) {
    let piv = c;
    for (let r = c + 1; r < a; r++) if (Math.abs(A[r * w + c] as number) > Math.abs(A[piv * w + c] as number)) piv = r;
    for (let k = 0; k < w; k++) [A[c * w + k], A[piv * w + k]] = [A[piv * w + k] as number, A[c * w + k] as number];
    const d = A[c * w + c] as number;
    for (let k = 0; k < w; k++) A[c * w + k]! /= d;
    for (let r = 0; r < a; r++) {
      if (r === c) continue;
      const f = A[r * w + c] as number;
      if (f !== 0) for (let k = 0; k < w; k++) A[r * w + k]! -= f * (A[c * w + k] as number);
    }
  }
  const W = new Float64Array(a * b);
  for (let p = 0; p < a; p++) for (let q = 0; q < b; q++) W[p * b + q] = A[p * w + a + q] as number;
  return W;
}

function project(v: Float32Array, W: Float64Array, a: number, b: number): Float32Array {
  const out = new Float32Array(b);
  for (let q = 0; q < b; q++) {
    let s = 0;
    for (let p = 0; p < a; p++) s += (v[p] as number) * (W[p * b + q] as number);
    out[q] = s;
  }
  return out;
}

/** A user model without learning: up to 3 interests = mean unit vector of the history's clicks in each of its 3 most clicked categories. */
function poolingModel(vectors: Float32Array, dim: number, categories: readonly string[]): InterestModel {
  const unit = unitRows(vectors, dim);
  return {
    dim,
    interests(longTerm, shortTerm) {
      const items = [...Array.from(longTerm), ...Array.from(shortTerm)];
      const by = new Map<string, number[]>();
      items.forEach((i, k) => by.set(categories[i] as string, [...(by.get(categories[i] as string) ?? []), k]));
      const top = [...by].sort((x, y) => y[1].length - x[1].length || Math.max(...y[1]) - Math.max(...x[1])).slice(0, 3);
      return top.map(([, ks]) => {
        const v = new Float32Array(dim);
        for (const k of ks) for (let d = 0; d < dim; d++) v[d]! += unit[(items[k] as number) * dim + d] as number;
        return v;
      });
    },
  };
}

async function main(): Promise<void> {
  const seed = Number(values.seed);
  const iv = await readItemVectors(paths.itemVectors);
  const trained = await trainedInterestModel(paths.multiInterest, iv.vectors, iv.dim);
  const base: AbConfig = { ...DEFAULT_AB, seed, bootstrapSamples: Number(values.bootstrap) };
  const trainedArm: ArmBModels = { label: 'trained', itemVectors: { dim: iv.dim, vectors: iv.vectors }, itemIds: iv.ids, modelFor: () => trained };

  const variants: Record<string, { config?: Partial<AbConfig>; recall?: Partial<AbConfig['recall']>; armB: ArmBModels | ((t: Truth) => ArmBModels) }> = {
    trained: { armB: trainedArm },
    'trained/cf-frozen': { armB: trainedArm, config: { cfRefresh: 'frozen' } },
    oracle: { armB: truthOracle },
    'oracle/cf-frozen': { armB: truthOracle, config: { cfRefresh: 'frozen' } },
    // (a) which model is weak: swap one of the two for the truth.
    'oracle-interests+trained-items': {
      armB: (truth) => {
        // A truth topic, expressed in the trained space: the centroid of its items' trained unit vectors.
        const unit = unitRows(iv.vectors, iv.dim);
        const cent = truth.topicVectors.map(() => new Float32Array(iv.dim));
        truth.itemTopic.forEach((t, i) => {
          for (let d = 0; d < iv.dim; d++) cent[t]![d]! += unit[i * iv.dim + d] as number;
        });
        const o = truthOracle(truth);
        return {
          label: 'oracle interests (topic centroids) + trained items',
          itemVectors: { dim: iv.dim, vectors: iv.vectors },
          modelFor: (u) => {
            const user = truth.users[u];
            const order = user ? user.interests.map((t, k) => ({ t, w: user.weights[k] ?? 0 })).sort((x, y) => y.w - x.w || x.t - y.t) : [];
            void o;
            return { dim: iv.dim, interests: () => order.map(({ t }) => cent[t] as Float32Array) };
          },
        };
      },
    },
    'trained-interests+oracle-items': {
      armB: (truth) => {
        const unit = unitRows(iv.vectors, iv.dim);
        const W = leastSquares(unit, iv.dim, unitRows(truth.itemLatent, truth.latentDim), truth.latentDim);
        return {
          label: 'trained interests (projected) + truth items',
          itemVectors: { dim: truth.latentDim, vectors: truth.itemLatent },
          modelFor: () => ({ dim: truth.latentDim, interests: (l, s) => trained.interests(l, s).map((v) => project(v, W, iv.dim, truth.latentDim)) }),
        };
      },
    },
    'trained-items-projected (control)': {
      // Control for the projection: trained item vectors projected to the truth space, searched there.
      armB: (truth) => {
        const unit = unitRows(iv.vectors, iv.dim);
        const W = leastSquares(unit, iv.dim, unitRows(truth.itemLatent, truth.latentDim), truth.latentDim);
        const proj = new Float32Array(iv.ids.length * truth.latentDim);
        for (let i = 0; i < iv.ids.length; i++) proj.set(project(unit.subarray(i * iv.dim, (i + 1) * iv.dim), W, iv.dim, truth.latentDim), i * truth.latentDim);
        return {
          label: 'trained interests + trained items, both projected',
          itemVectors: { dim: truth.latentDim, vectors: proj },
          modelFor: () => ({ dim: truth.latentDim, interests: (l, s) => trained.interests(l, s).map((v) => project(v, W, iv.dim, truth.latentDim)) }),
        };
      },
    },
    'pooling+trained-items': { armB: { label: 'history pooling + trained items', itemVectors: { dim: iv.dim, vectors: iv.vectors }, modelFor: () => poolingModel(iv.vectors, iv.dim, iv.categories) } },
    'pooling+oracle-items': {
      armB: (truth) => ({ label: 'history pooling + truth items', itemVectors: { dim: truth.latentDim, vectors: truth.itemLatent }, modelFor: () => poolingModel(truth.itemLatent, truth.latentDim, iv.categories) }),
    },
    // (c) recall settings
    'trained/open-only': { armB: trainedArm, recall: { categoriesPerInterest: 0 } },
    'trained/open-only,score-merge': { armB: trainedArm, recall: { categoriesPerInterest: 0, merge: 'score' } },
    'trained/score-merge': { armB: trainedArm, recall: { merge: 'score' } },
    'trained/1-category': { armB: trainedArm, recall: { categoriesPerInterest: 1 } },
    'trained/no-category-cap': { armB: trainedArm, recall: { maxCategoryShare: 1 } },
    'trained/first-interest-only': {
      armB: { ...trainedArm, label: 'trained, interest 0 only', modelFor: () => ({ dim: iv.dim, interests: (l, s) => trained.interests(l, s).slice(0, 1) }) },
    },
    'oracle/open-only': { armB: truthOracle, recall: { categoriesPerInterest: 0 } },
  };
  const chosen = values.variants ? (values.variants as string).split(',') : Object.keys(variants);
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  console.log(`| seed | variant | CTR A | CTR B | lift (bootstrap 95% CI) | replay A | replay B | cats/feed A | cats/feed B | routes B |`);
  console.log(`|---|---|---|---|---|---|---|---|---|---|`);
  for (const name of chosen) {
    const v = variants[name];
    if (!v) throw new Error(`unknown variant ${name} (known: ${Object.keys(variants).join(', ')})`);
    const config: AbConfig = { ...base, ...v.config, recall: { ...base.recall, ...v.recall } };
    const r: AbReport = await simulateAbTest({ featuresDb: paths.features, tagsDb: paths.tags, datasetDir: paths.data, armB: v.armB }, config);
    const routes = Object.entries(r.armB.routeShare).map(([k, x]) => `${k} ${(100 * x).toFixed(0)}%`).join(', ');
    console.log(
      `| ${seed} | ${name} | ${pct(r.armA.ctr)} | ${pct(r.armB.ctr)} | ${(100 * r.bootstrap.lift).toFixed(1)}% (${(100 * r.bootstrap.ci[0]).toFixed(1)}..${(100 * r.bootstrap.ci[1]).toFixed(1)}) | ${pct(r.armA.replay?.recall ?? NaN)} | ${pct(r.armB.replay?.recall ?? NaN)} | ${r.armA.categoriesPerFeed.toFixed(2)} | ${r.armB.categoriesPerFeed.toFixed(2)} | ${routes} |`,
    );
  }
  trained.dispose();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
