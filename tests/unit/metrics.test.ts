import { intraListDiversity } from '../../evaluation/metrics';

/** The definition, pair by pair. */
function pairwise(ranked: number[], vectors: Float32Array, dim: number, n: number): number {
  const m = Math.min(n, ranked.length);
  let sum = 0;
  let pairs = 0;
  for (let a = 0; a < m; a++) {
    for (let b = a + 1; b < m; b++) {
      let dot = 0;
      for (let k = 0; k < dim; k++) dot += (vectors[(ranked[a] as number) * dim + k] as number) * (vectors[(ranked[b] as number) * dim + k] as number);
      sum += dot;
      pairs++;
    }
  }
  return 1 - sum / pairs;
}

describe('intraListDiversity', () => {
  it('equals 1 − the mean pairwise cosine, pair by pair, on unit vectors (repeats and the cut-off included)', () => {
    const dim = 16;
    const items = 200;
    let seed = 3;
    const rand = () => (seed = (seed * 48271) % 2147483647) / 2147483647 - 0.5;
    const vectors = new Float32Array(items * dim);
    for (let i = 0; i < items; i++) {
      const v = Array.from({ length: dim }, rand);
      const norm = Math.hypot(...v);
      v.forEach((x, k) => (vectors[i * dim + k] = x / norm));
    }
    for (const length of [2, 3, 17, 50, 80]) {
      const ranked = Array.from({ length }, (_, r) => (r * 37 + length) % items);
      if (length > 10) ranked[9] = ranked[3] as number; // a repeated item
      for (const n of [20, 50]) expect(intraListDiversity(ranked, vectors, dim, n)).toBeCloseTo(pairwise(ranked, vectors, dim, n), 12);
    }
    expect(intraListDiversity([4], vectors, dim, 50)).toBe(0);
    expect(intraListDiversity([4, 4], vectors, dim, 50)).toBeCloseTo(pairwise([4, 4], vectors, dim, 50), 12); // ~0
  });
});
