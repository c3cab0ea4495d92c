import { epochOrder, train } from '../../models/training';
import { toyRegression, type ToyBatch } from '../helpers/toyRegression';

/** Runs the toy regression with a per-epoch budget and records the rows each step was given. */
async function rowsSeen(examples: number, epochs: number, batchSize: number, examplesPerEpoch?: number) {
  const perEpoch = new Map<number, number[]>();
  const { spec, dispose } = toyRegression(examples, 4, (rows, epoch) => perEpoch.set(epoch, [...(perEpoch.get(epoch) ?? []), ...rows]));
  try {
    const result = await train<ToyBatch>({ ...spec, epochs, ...(examplesPerEpoch === undefined ? {} : { examplesPerEpoch }), batchSize, seed: 3 });
    return { perEpoch, result };
  } finally {
    dispose();
  }
}

describe('training budget per epoch', () => {
  it('trains each epoch on the head of its own shuffled order, so later epochs see other examples', async () => {
    const { perEpoch, result } = await rowsSeen(1000, 3, 64, 300);
    for (const epoch of [1, 2, 3]) {
      const rows = perEpoch.get(epoch) ?? [];
      expect(rows).toEqual([...epochOrder(1000, 3, epoch).subarray(0, 300)]);
    }
    const distinct = new Set([...perEpoch.values()].flat());
    expect(distinct.size).toBeGreaterThan(300);
    expect(result.epochs.map((e) => Number.isFinite(e.loss))).toEqual([true, true, true]);
  });

  it('trains every example when the budget is 0, absent, or above the example count', async () => {
    for (const budget of [0, undefined, 5000]) {
      const { perEpoch } = await rowsSeen(200, 1, 64, budget);
      expect([...(perEpoch.get(1) ?? [])].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    }
  });
});
