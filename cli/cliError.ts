import { CurioError } from '../platform/errors';
/** An error whose message is for the user as it stands (no stack trace). */
export class CliError extends CurioError {
  constructor(message: string) {
    super(message, { type: 'CliError', retryable: false });
  }
}
