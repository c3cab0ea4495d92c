/** Tests run against the real Temporal dev server, MLflow server, DuckDB, Faiss and tfjs-node. */
module.exports = {
  testEnvironment: '<rootDir>/tests/setup/nodeEnvironment.js',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  globalSetup: '<rootDir>/tests/setup/globalSetup.ts',
  globalTeardown: '<rootDir>/tests/setup/globalTeardown.ts',
  setupFiles: ['<rootDir>/tests/setup/quietTemporal.ts'],
  testTimeout: 120000,
  // Native libraries (TensorFlow, Faiss, DuckDB) are heavy; one worker keeps memory predictable on 2 cores.
  maxWorkers: 1,
};
