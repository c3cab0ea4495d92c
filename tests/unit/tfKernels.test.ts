import { tf } from '../../platform/tf';

/**
 * platform/tfKernels.ts: the GatherV2 kernel without tfjs-node's JS index readback, and ReLU's
 * gradient through TensorFlow's ReluGrad. Same answers as tfjs's own formulas, and a bad index still
 * fails the lookup.
 */
describe('native kernels (platform/tfKernels.ts)', () => {
  it('are the registered ones for the tensorflow backend', () => {
    expect(tf.getBackend()).toBe('tensorflow');
    // tfjs-node's own GatherV2 reads the indices back (backend.readSync); ours never does.
    expect(String(tf.getKernel(tf.GatherV2, 'tensorflow')?.kernelFunc)).not.toContain('readSync');
    expect(tf.getKernel('CurioReluGrad', 'tensorflow')).toBeDefined();
  });

  it('gathers rows, along any axis and with batch dims, as a plain lookup', () => {
    const table = tf.tensor2d([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
    expect(tf.gather(table, tf.tensor1d([2, 0, 2], 'int32')).arraySync()).toEqual([[7, 8, 9], [1, 2, 3], [7, 8, 9]]);
    expect(tf.gather(table, tf.tensor1d([1], 'int32'), 1).arraySync()).toEqual([[2], [5], [8]]);
    expect(tf.gather(table, tf.tensor2d([[0, 0], [1, 2]], [2, 2], 'int32')).shape).toEqual([2, 2, 3]);
    const batched = tf.tensor3d([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]);
    expect(tf.gather(batched, tf.tensor2d([[1], [0]], [2, 1], 'int32'), 1, 1).arraySync()).toEqual([[[3, 4]], [[5, 6]]]);
  });

  it('still refuses an index outside the table, with the index in the message', () => {
    const table = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
    expect(() => tf.gather(table, tf.tensor1d([0, 3], 'int32')).dataSync()).toThrow(/3 is not in \[0, 3\)/);
    expect(() => tf.gather(table, tf.tensor1d([-1], 'int32')).dataSync()).toThrow(/-1 is not in \[0, 3\)/);
  });

  it("gives tfjs-core's gradients for a gather and for ReLU (dy where x > 0, 0 at and below 0)", () => {
    const x = tf.tensor1d([-2, -0.5, 0, 0.25, 3]);
    const w = tf.tensor1d([1, 2, 3, 4, 5]);
    const grad = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), w)))(x);
    expect(Array.from(grad.dataSync())).toEqual([0, 0, 0, 4, 5]);
    const reference = tf.mul(w, tf.cast(tf.step(x), 'float32'));
    expect(Array.from(grad.dataSync())).toEqual(Array.from(reference.dataSync()));

    const table = tf.variable(tf.tensor2d([[1, 1], [2, 2], [3, 3]]));
    const ids = tf.tensor1d([2, 2, 0], 'int32');
    const { grads } = tf.variableGrads(() => tf.sum(tf.relu(tf.gather(table, ids))) as tf.Scalar, [table]);
    expect(grads[table.name]?.arraySync()).toEqual([[1, 1], [0, 0], [2, 2]]);
  });

  it('keeps a dense ReLU layer training to the same loss as the formula it replaces', () => {
    const run = () => {
      const model = tf.sequential({ layers: [tf.layers.dense({ units: 8, inputShape: [4], activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }), tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) })] });
      const xs = tf.tensor2d(Array.from({ length: 32 }, (_, i) => [Math.sin(i), Math.cos(i), i / 32, 1]));
      const ys = tf.tensor2d(Array.from({ length: 32 }, (_, i) => [Math.sin(i) > 0 ? 1 : 0]));
      const opt = tf.train.sgd(0.1);
      let loss = 0;
      for (let s = 0; s < 20; s++) loss = (opt.minimize(() => tf.losses.meanSquaredError(ys, model.apply(xs) as tf.Tensor) as tf.Scalar, true) as tf.Scalar).dataSync()[0] as number;
      return loss;
    };
    const native = run();
    const saved = tf.getGradient(tf.Relu);
    try {
      tf.registerGradient({ kernelName: tf.Relu, inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.cast(tf.step(x as tf.Tensor), 'float32')) }) });
      expect(run()).toBe(native);
    } finally {
      tf.registerGradient(saved);
    }
  });
});
