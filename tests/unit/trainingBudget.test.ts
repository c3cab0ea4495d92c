import { epochOrder, train, trainableVariables } from '../../models/training';
import { tf } from '../../platform/tf';

/** Runs a toy regression with a per-epoch budget and records the rows each step was given. */
async function rowsSeen(examples: number, epochs: number, batchSize: number, examplesPerEpoch?: number) {
  const x = tf.randomNormal([examples, 4], 0, 1, 'float32', 1);
  const y = tf.randomNormal([examples, 1], 0, 1, 'float32', 2);
  const input = tf.input({ shape: [4] });
  const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 1 }).apply(input) as tf.SymbolicTensor });
  const optimizer = tf.train.adam(0.01);
  const vars = trainableVariables(model);
  const perEpoch = new Map<number, number[]>();
  try {
    const result = await train<{ x: tf.Tensor2D; y: tf.Tensor2D }>({
      name: 'toy',
      examples,
      epochs,
      ...(examplesPerEpoch === undefined ? {} : { examplesPerEpoch }),
      batchSize,
      seed: 3,
      optimizer,
      models: [model],
      variables: () => vars,
      batch: (rows, epoch) => {
        perEpoch.set(epoch, [...(perEpoch.get(epoch) ?? []), ...rows]);
        const idx = tf.tensor1d(rows, 'int32');
        const b = { x: tf.gather(x, idx) as tf.Tensor2D, y: tf.gather(y, idx) as tf.Tensor2D };
        idx.dispose();
        return b;
      },
      loss: (b) => tf.losses.meanSquaredError(b.y, model.apply(b.x) as tf.Tensor2D) as tf.Scalar,
      disposeBatch: (b) => tf.dispose([b.x, b.y]),
    });
    return { perEpoch, result };
  } finally {
    tf.dispose([x, y]);
    model.dispose();
    optimizer.dispose();
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
