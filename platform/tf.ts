import './tfEnv';
import * as tf from '@tensorflow/tfjs-node';
import { installNativeKernels } from './tfKernels';

installNativeKernels();

/**
 * The pipeline must train on TensorFlow's native C library. The pure-JS CPU backend would still
 * "work" and silently be orders of magnitude slower, so every training entry point calls this.
 */
export function assertNativeBackend(): void {
  const backend = tf.getBackend();
  if (backend !== 'tensorflow') {
    throw new Error(
      `tfjs is running on the '${backend}' backend, not the native 'tensorflow' backend; ` +
        'rebuild it with scripts/install/tfjs-node.sh',
    );
  }
}

export { tf };
