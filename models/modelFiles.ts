import { tf } from '../platform/tf';
// Registers Curio's custom layers, which loading a saved user model needs.
import './layers';

/** Saving and loading tfjs models (TensorFlow); the vector files beside them are in vectorFiles.ts (DuckDB only). */

export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(`file://${dir}`);
}

export async function loadModel(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(`file://${dir}/model.json`);
}
