import { checkTensorflowStep, type TensorflowCheck } from '../models/smokeStep';

export async function smokeTensorflowStep(input: { learningRate: number }): Promise<TensorflowCheck> {
  return checkTensorflowStep(input.learningRate);
}
