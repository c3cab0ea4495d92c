/**
 * The base of every error Curio raises on purpose. It imports nothing, so whatever catches errors
 * (the stage runner, the CLI) needs one `instanceof CurioError` and no domain module — importing an
 * error class from a model module used to load TensorFlow into the pipeline worker.
 *
 * - `type` is what a Temporal failure, a stage row and the CLI report (several classes may share one,
 *   e.g. every kind of unusable training data is a `TrainingDataError`).
 * - `retryable` says whether running the same work again can succeed: bad data or config cannot, a
 *   server that did not answer can. The stage runner turns a non-retryable error into a
 *   non-retryable Temporal failure, so Temporal does not spend its attempts on it.
 */
export class CurioError extends Error {
  readonly type: string;
  readonly retryable: boolean;

  constructor(message: string, options: { type: string; retryable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.type = options.type;
    this.retryable = options.retryable;
    this.name = new.target.name;
  }
}
