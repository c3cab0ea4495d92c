// Imported before @tensorflow/tfjs-node: TensorFlow reads this when its library loads and otherwise
// prints INFO lines (oneDNN, CPU features) on every start. Warnings and errors still show.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
export {};
