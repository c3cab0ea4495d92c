export { categorisedItems, randomQueries, type CategorisedItems } from '../../bench/categorisedVectors';

/** Exact top-k by float64 inner product over the given (already normalised) rows; ties by index. */
export function exactTopK(unit: Float32Array, dim: number, query: Float32Array, k: number, keep: (i: number) => boolean): { idx: number[]; score: number[] } {
  const qn = Math.sqrt(query.reduce((s, x) => s + x * x, 0));
  const scored: { i: number; s: number }[] = [];
  for (let i = 0; i < unit.length / dim; i++) {
    if (!keep(i)) continue;
    let s = 0;
    for (let j = 0; j < dim; j++) s += (unit[i * dim + j] as number) * ((query[j] as number) / qn);
    scored.push({ i, s });
  }
  scored.sort((a, b) => b.s - a.s || a.i - b.i);
  const top = scored.slice(0, k);
  return { idx: top.map((t) => t.i), score: top.map((t) => t.s) };
}
