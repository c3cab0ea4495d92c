import { assertNativeBackend, tf } from '../platform/tf';

export interface TensorflowCheck {
  backend: string;
  lossBefore: number;
  lossAfter: number;
}

/** One SGD step of least squares on fixed data: the loss must drop. */
export function checkTensorflowStep(learningRate: number): TensorflowCheck {
  assertNativeBackend();
  return tf.tidy(() => {
    const x = tf.tensor2d([[1, 2], [2, 1], [3, 3], [0, 1]]);
    const y = tf.tensor2d([[5], [4], [9], [2]]);
    const w = tf.variable(tf.zeros([2, 1]), true, `smoke_w_${Date.now()}`);
    const loss = () => tf.losses.meanSquaredError(y, x.matMul(w)) as tf.Scalar;
    const lossBefore = loss().dataSync()[0] ?? NaN;
    tf.train.sgd(learningRate).minimize(loss);
    const lossAfter = loss().dataSync()[0] ?? NaN;
    w.dispose();
    return { backend: tf.getBackend(), lossBefore, lossAfter };
  });
}
