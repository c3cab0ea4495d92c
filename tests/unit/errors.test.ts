import { ApplicationFailure } from '@temporalio/common';
import { toFailure } from '../../activities/stageRunner';
import { CliError } from '../../cli/cliError';
import { DataValidationError } from '../../data/validationError';
import { MlflowError } from '../../experiments/mlflowClient';
import { TrackingError } from '../../experiments/trackingOps';
import { ConfigError } from '../../platform/schema';
import { SqlError } from '../../platform/duckdb';
import { CurioError } from '../../platform/errors';

/** The one base class every deliberate error shares, and what the stage runner makes of it. */
describe('Curio errors', () => {
  it('carry a type and whether a retry can help', () => {
    const bad = new DataValidationError([{ file: 'items.csv', row: 3, column: 'title', reason: 'missing value' }]);
    expect(bad).toBeInstanceOf(CurioError);
    expect([bad.type, bad.retryable, bad.name]).toEqual(['DataValidationError', false, 'DataValidationError']);
    expect(new ConfigError('x')).toMatchObject({ type: 'ConfigError', retryable: false });
    expect(new CliError('x')).toMatchObject({ type: 'CliError', retryable: false });
    expect(new SqlError('sql/x.sql', 2, new Error('boom'))).toMatchObject({ type: 'SqlError', retryable: true, message: 'sql/x.sql statement 2: boom' });
    expect(new MlflowError('down', 503, undefined, 'runs/get').retryable).toBe(true);
    expect(new MlflowError('unreachable', 0, 'UNREACHABLE', 'runs/get').retryable).toBe(true);
    expect(new MlflowError('bad', 400, 'INVALID_PARAMETER_VALUE', 'runs/get').retryable).toBe(false);
    expect(new TrackingError('later', true).retryable).toBe(true);
    expect(new TrackingError('never').retryable).toBe(false);
  });

  it('become Temporal failures of their type; only retryable ones may be retried', () => {
    const bad = toFailure(new ConfigError('multiInterest.k must be ≥ 1'));
    expect(bad).toBeInstanceOf(ApplicationFailure);
    expect(bad).toMatchObject({ type: 'ConfigError', nonRetryable: true, message: 'multiInterest.k must be ≥ 1' });
    expect(toFailure(new SqlError('sql/x.sql', 1, 'locked'))).toMatchObject({ type: 'SqlError', nonRetryable: false });
    // Anything else is a bug or a crash: Temporal retries it as it stands.
    const crash = new RangeError('out of memory');
    expect(toFailure(crash)).toBe(crash);
  });
});
