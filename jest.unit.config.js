/**
 * The unit tier (`npm run test:unit`): tests/unit only, with no shared services — no MLflow server
 * (no globalSetup), no data downloads; workflow-logic tests there start their own in-memory Temporal
 * dev server from the installed CLI binary and stub every activity. Seconds, not minutes.
 * `make test` runs everything (jest.config.js), this tier included.
 */
const base = require('./jest.config.js');

module.exports = {
  ...base,
  roots: ['<rootDir>/tests/unit'],
  globalSetup: undefined,
  globalTeardown: undefined,
  testTimeout: 30000,
};
