import * as tf from '@tensorflow/tfjs-node';
import { createTensorsTypeOpAttr, type NodeJSKernelBackend } from '@tensorflow/tfjs-node/dist/nodejs_kernel_backend';

/**
 * Two of tfjs-node's kernels do in JavaScript what TensorFlow's own C kernels already do, and the
 * training steps pay for it on every batch (measured by `npm run bench:peer`'s micro-ops):
 *
 * - GatherV2 (every embedding and vector-table lookup) first copies every index back to JS and
 *   asserts its range in a closure per index: 3.5 ms for a 75k-id tag lookup, against 0.19 ms in
 *   torch. TensorFlow's GatherV2 kernel checks the same range and fails the op with
 *   "indices[i] = v is not in [0, n)", which tfjs-node raises as an Error; so the lookup is handed
 *   to it directly, and a bad index still throws (tests/unit/tfKernels.test.ts).
 * - ReLU's gradient is tfjs-core's dy * cast(step(x)), and tfjs-node's Step builds its result from
 *   JS-allocated ones and fills plus five ops: 70x torch's time on [4700, 128]. TensorFlow's ReluGrad
 *   is that gradient in one op (dy where x > 0, else 0).
 *
 * Both are registered through tfjs's public kernel and gradient registries for the 'tensorflow'
 * backend only, so results are the same (to the bit) and other backends are untouched.
 * Imported by platform/tf.ts, so every tfjs user in the project gets them.
 */

const BACKEND = 'tensorflow';
const RELU_GRAD = 'CurioReluGrad';

function nodeBackend(backend: unknown): NodeJSKernelBackend {
  return backend as NodeJSKernelBackend;
}

function register(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName)) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}

let installed = false;

export function installNativeKernels(): void {
  if (installed) return;
  installed = true;
  register({
    kernelName: tf.GatherV2,
    backendName: BACKEND,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, indices } = inputs as { x: tf.Tensor; indices: tf.Tensor };
      const { axis, batchDims } = attrs as unknown as { axis: number; batchDims: number };
      const b = nodeBackend(backend);
      // The shape checks tfjs-core makes (cheap: shapes only, no data).
      tf.backend_util.segment_util.collectGatherOpShapeInfo(x as tf.TensorInfo as tf.Tensor, indices as tf.TensorInfo as tf.Tensor, axis, batchDims);
      const axisTensor = tf.scalar(axis, 'int32');
      try {
        return b.executeSingleOutput(
          tf.GatherV2,
          [
            { name: 'batch_dims', type: b.binding.TF_ATTR_INT, value: batchDims },
            createTensorsTypeOpAttr('Tparams', x.dtype),
            createTensorsTypeOpAttr('Tindices', indices.dtype),
            createTensorsTypeOpAttr('Taxis', 'int32'),
          ],
          [x, indices, axisTensor],
        );
      } finally {
        axisTensor.dispose();
      }
    },
  });
  register({
    kernelName: RELU_GRAD,
    backendName: BACKEND,
    kernelFunc: ({ inputs, backend }) => {
      const { dy, x } = inputs as { dy: tf.Tensor; x: tf.Tensor };
      return nodeBackend(backend).executeSingleOutput('ReluGrad', [createTensorsTypeOpAttr('T', x.dtype)], [dy, x]);
    },
  });
  tf.registerGradient({
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as [tf.Tensor];
      const grad = dy as tf.Tensor;
      // Other backends (none is used here, but tfjs may fall back) keep tfjs-core's formula.
      if (tf.getBackend() !== BACKEND || x.dtype !== 'float32') return { x: () => tf.mul(grad, tf.cast(tf.step(x), 'float32')) };
      return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: grad, x }) as tf.Tensor };
    },
  });
}
