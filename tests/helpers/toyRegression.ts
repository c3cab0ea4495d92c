import { trainableVariables, type TrainSpec } from '../../models/training';
import { tf } from '../../platform/tf';

export interface ToyBatch {
  x: tf.Tensor2D;
  y: tf.Tensor2D;
}

/**
 * A one-layer regression on random rows, for tests of the training loop itself: the TrainSpec
 * fields that define the model and its batches, and what the caller disposes afterwards.
 */
export function toyRegression(examples: number, features: number, onBatch?: (rows: Int32Array, epoch: number) => void) {
  const x = tf.randomNormal([examples, features], 0, 1, 'float32', 1);
  const y = tf.randomNormal([examples, 1], 0, 1, 'float32', 2);
  const input = tf.input({ shape: [features] });
  const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 1 }).apply(input) as tf.SymbolicTensor });
  const optimizer = tf.train.adam(0.01);
  const vars = trainableVariables(model);
  const spec: Pick<TrainSpec<ToyBatch>, 'name' | 'examples' | 'optimizer' | 'models' | 'variables' | 'batch' | 'loss' | 'disposeBatch'> = {
    name: 'toy',
    examples,
    optimizer,
    models: [model],
    variables: () => vars,
    batch: (rows, epoch) => {
      onBatch?.(rows, epoch);
      const idx = tf.tensor1d(rows, 'int32');
      const b = { x: tf.gather(x, idx) as tf.Tensor2D, y: tf.gather(y, idx) as tf.Tensor2D };
      idx.dispose();
      return b;
    },
    loss: (b) => tf.losses.meanSquaredError(b.y, model.apply(b.x) as tf.Tensor2D) as tf.Scalar,
    disposeBatch: (b) => tf.dispose([b.x, b.y]),
  };
  return { spec, dispose: () => (tf.dispose([x, y]), model.dispose(), optimizer.dispose()) };
}
