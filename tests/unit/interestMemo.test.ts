import { MemoisedInterestModel, PREFETCH_BATCH } from '../../retrieval/interestMemo';
import type { InterestModel } from '../../retrieval/types';

/** A toy model (the memo's logic, not a model, is under test): interest j = [sum of clicks, j, short length]. */
function toyModel(batched: boolean) {
  const calls: number[] = [];
  const one = (longTerm: Int32Array, shortTerm: Int32Array) => [0, 1].map((j) => Float32Array.from([longTerm.reduce((a, x) => a + x, 0), j, shortTerm.length]));
  const model: InterestModel = {
    dim: 3,
    interests: (l, s) => {
      calls.push(1);
      return one(l, s);
    },
    weightedInterests: (l, s) => {
      calls.push(1);
      return { vectors: one(l, s), weights: [2, 1] };
    },
    ...(batched
      ? {
          interestsMany: (requests: readonly { longTerm: Int32Array; shortTerm: Int32Array }[], weighted: boolean) => {
            calls.push(requests.length);
            return requests.map((r) => ({ vectors: one(r.longTerm, r.shortTerm), ...(weighted ? { weights: [2, 1] } : {}) }));
          },
        }
      : {}),
  };
  return { model, calls };
}

const req = (long: number[], short: number[] = []) => ({ longTerm: Int32Array.from(long), shortTerm: Int32Array.from(short) });

describe('MemoisedInterestModel', () => {
  it('answers as the model does, computing each distinct request once', () => {
    const { model, calls } = toyModel(true);
    const memo = new MemoisedInterestModel(model);
    expect(memo.interests(Int32Array.from([1, 2]), new Int32Array())).toEqual(model.interests(Int32Array.from([1, 2]), new Int32Array()));
    calls.length = 0;
    const got = memo.interestsMany([req([1, 2]), req([1, 2], [5]), req([3]), req([3])], false);
    expect(got.map((g) => g.vectors[0]?.[0])).toEqual([3, 3, 3, 3]);
    expect(got[1]?.vectors[0]?.[2]).toBe(1); // the short-term clicks are part of the request
    expect(calls).toEqual([2]); // [1,2] was known; [3] is computed once for its two asks
    expect({ computed: memo.computed, reused: memo.reused }).toEqual({ computed: 3, reused: 2 });
    // Weighted and unweighted answers are kept apart.
    expect(memo.weightedInterests(Int32Array.from([1, 2]), new Int32Array()).weights).toEqual([2, 1]);
    expect(memo.computed).toBe(4);
  });

  it('prefetches in batches of PREFETCH_BATCH, and later asks are lookups', () => {
    const { model, calls } = toyModel(true);
    const memo = new MemoisedInterestModel(model);
    const many = Array.from({ length: PREFETCH_BATCH + 10 }, (_, u) => req([u]));
    memo.prefetch(many, false);
    expect(calls).toEqual([PREFETCH_BATCH, 10]);
    expect(memo.interests(Int32Array.from([7]), new Int32Array())[0]?.[0]).toBe(7);
    expect(calls).toHaveLength(2);
  });

  it('falls back to one call per request for a model without interestsMany', () => {
    const { model, calls } = toyModel(false);
    const memo = new MemoisedInterestModel(model);
    expect(memo.interestsMany([req([1]), req([2]), req([1])], true).map((g) => g.weights)).toEqual([[2, 1], [2, 1], [2, 1]]);
    expect(calls).toEqual([1, 1]);
  });

  it('forgets its answers when the item vectors change', () => {
    const { model } = toyModel(true);
    let table = 0;
    const memo = new MemoisedInterestModel({ ...model, withItemVectors: () => void table++ });
    memo.interests(Int32Array.from([1]), new Int32Array());
    memo.withItemVectors(new Float32Array(3));
    memo.interests(Int32Array.from([1]), new Int32Array());
    expect({ table, computed: memo.computed }).toEqual({ table: 1, computed: 2 });
    expect(() => new MemoisedInterestModel(toyModel(true).model).withItemVectors(new Float32Array(3))).toThrow(/cannot take new item vectors/);
  });
});
