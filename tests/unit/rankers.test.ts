import { LastClicksNeighbours, lastClicksRanker, type RankContext, type RankRequest } from '../../evaluation/rankers';

/** Small seeded PRNG so every run sees the same vectors and histories. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 48271) % 2147483647) / 2147483647;
}

describe('LastClicksNeighbours (item-kNN for several last-click counts at once)', () => {
  const items = 300;
  const dim = 8;
  const rand = lcg(7);
  // Coarse values make exact score ties common, so the tie order is tested too.
  const vectors = Float32Array.from({ length: items * dim }, () => Math.round(rand() * 4) / 4);
  const requests: RankRequest[] = Array.from({ length: 40 }, (_, caseNo) => ({
    userIdx: caseNo,
    startedAt: 0,
    day: 0,
    caseNo,
    history: Int32Array.from({ length: caseNo % 13 }, () => Math.floor(rand() * items)),
  }));
  const contexts: RankContext[] = requests.map(() => {
    const candidates = Int32Array.from({ length: items }, (_, i) => i).filter(() => rand() < 0.6);
    const isCandidate = new Uint8Array(items);
    for (const i of candidates) isCandidate[i] = 1;
    return { candidates, isCandidate };
  });
  const lasts = [1, 3, 5, 10];

  it('gives every last-click count exactly the lists of a separate ranker', () => {
    const shared = new LastClicksNeighbours(vectors, dim, lasts);
    for (const m of lasts) {
      const alone = lastClicksRanker(`knn${m}`, vectors, dim, m);
      const viaShared = shared.ranker(`knn${m}`, m);
      requests.forEach((req, c) => {
        const ctx = contexts[c] as RankContext;
        expect(viaShared.rank(req, ctx, 20)).toEqual(alone.rank(req, ctx, 20));
      });
    }
  });

  it('remembers a request\'s lists (copies, so a caller extending one changes nothing) and recomputes for another n', () => {
    const shared = new LastClicksNeighbours(vectors, dim, [3]);
    const req = requests[12] as RankRequest;
    const ctx = contexts[12] as RankContext;
    const first = shared.rank(req, ctx, 10, 3);
    expect(first).toHaveLength(10);
    first.push(-1);
    expect(shared.rank(req, ctx, 10, 3)).toHaveLength(10);
    expect(shared.rank(req, ctx, 5, 3)).toEqual(first.slice(0, 5));
    expect(shared.rank(requests[0] as RankRequest, contexts[0] as RankContext, 10, 3)).toEqual([]); // no history
  });

  it('refuses a count it was not built for, and bad counts', () => {
    expect(() => new LastClicksNeighbours(vectors, dim, [3]).ranker('knn5', 5)).toThrow(/5 last clicks was not among \[3\]/);
    expect(() => new LastClicksNeighbours(vectors, dim, [])).toThrow(/positive integers/);
    expect(() => new LastClicksNeighbours(vectors, dim, [0, 2])).toThrow(/positive integers/);
  });
});
