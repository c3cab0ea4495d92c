/**
 * Ranking metrics with the standard definitions (binary relevance):
 * - Recall@N  = |top-N ∩ targets| / |targets|
 * - HitRate@N = 1 if top-N ∩ targets ≠ ∅ else 0
 * - NDCG@N    = DCG / IDCG, DCG = Σ over hits at rank r (1-based) of 1 / log2(r + 1),
 *               IDCG = Σ_{r=1..min(|targets|, N)} 1 / log2(r + 1)
 * All are averaged per user (or per query) by the callers.
 */

export function recallAt(ranked: ArrayLike<number>, targets: Set<number>, n: number): number {
  if (targets.size === 0) return 0;
  let hits = 0;
  for (let r = 0; r < Math.min(n, ranked.length); r++) if (targets.has(ranked[r] as number)) hits++;
  return hits / targets.size;
}

export function hitAt(ranked: ArrayLike<number>, targets: Set<number>, n: number): number {
  for (let r = 0; r < Math.min(n, ranked.length); r++) if (targets.has(ranked[r] as number)) return 1;
  return 0;
}

export function ndcgAt(ranked: ArrayLike<number>, targets: Set<number>, n: number): number {
  if (targets.size === 0) return 0;
  let dcg = 0;
  for (let r = 0; r < Math.min(n, ranked.length); r++) if (targets.has(ranked[r] as number)) dcg += 1 / Math.log2(r + 2);
  let idcg = 0;
  for (let r = 0; r < Math.min(targets.size, n); r++) idcg += 1 / Math.log2(r + 2);
  return dcg / idcg;
}

/** Distinct categories among the first n items. */
export function categoryCoverage(ranked: ArrayLike<number>, categoryOf: (item: number) => string, n: number): number {
  const seen = new Set<string>();
  for (let r = 0; r < Math.min(n, ranked.length); r++) seen.add(categoryOf(ranked[r] as number));
  return seen.size;
}

/**
 * Intra-list diversity: 1 − mean pairwise cosine of the first n items' vectors (unit length).
 * The sum over pairs is taken as (|Σ v|² − Σ |v|²) / 2, the same quantity in O(n·dim) instead of
 * O(n²·dim) (equal up to float64 rounding): the evaluation scores every list of every method.
 */
export function intraListDiversity(ranked: ArrayLike<number>, vectors: Float32Array, dim: number, n: number): number {
  const m = Math.min(n, ranked.length);
  if (m < 2) return 0;
  const total = new Float64Array(dim);
  let squares = 0;
  for (let a = 0; a < m; a++) {
    const ia = (ranked[a] as number) * dim;
    for (let k = 0; k < dim; k++) {
      const x = vectors[ia + k] as number;
      total[k] = (total[k] as number) + x;
      squares += x * x;
    }
  }
  let norm2 = 0;
  for (let k = 0; k < dim; k++) norm2 += (total[k] as number) * (total[k] as number);
  const pairs = (m * (m - 1)) / 2;
  return 1 - (norm2 - squares) / 2 / pairs;
}

/**
 * Mean pairwise cosine of a set of vectors (the interest-collapse measure of one user): 1 = all
 * parallel; null with fewer than two non-zero vectors.
 */
export function meanPairwiseCosine(vectors: readonly Float32Array[]): number | null {
  const unit: Float32Array[] = [];
  for (const v of vectors) {
    const n = Math.hypot(...v);
    if (n > 0) unit.push(Float32Array.from(v, (x) => x / n));
  }
  if (unit.length < 2) return null;
  let sum = 0;
  let pairs = 0;
  for (let a = 0; a < unit.length; a++) {
    for (let b = a + 1; b < unit.length; b++) {
      const x = unit[a] as Float32Array;
      const y = unit[b] as Float32Array;
      let dot = 0;
      for (let d = 0; d < x.length; d++) dot += (x[d] as number) * (y[d] as number);
      sum += dot;
      pairs++;
    }
  }
  return sum / pairs;
}

export function mean(xs: number[]): number {
  return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0;
}
