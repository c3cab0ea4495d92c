import { openDatabase, runScript, runSqlFile, SqlError } from '../platform/duckdb';

describe('DuckDB SQL files', () => {
  it('runs a multi-statement file with named parameters bound per statement', async () => {
    const db = await openDatabase(':memory:');
    try {
      const rows = await runSqlFile(db.connection, 'smoke', { n: 10, categories: 3, scale: 2 });
      expect(rows).toEqual([{ row_count: 10, price_sum: 110, categories: 3 }]);
    } finally {
      db.close();
    }
  });

  it('names the file, the statement and the reason when a statement fails', async () => {
    const db = await openDatabase(':memory:');
    try {
      await expect(runSqlFile(db.connection, 'smoke', { n: 10, categories: 3 })).rejects.toThrow(
        /^sql\/smoke\.sql statement 1: needs parameter \$scale, which was not given$/,
      );
      const err = (await runScript(db.connection, 'SELECT 1; SELECT * FROM no_such_table', {}, 'sql/x.sql').catch(
        (e: unknown) => e,
      )) as SqlError;
      expect(err).toBeInstanceOf(SqlError);
      expect(err.statement).toBe(2);
      expect(err.message).toMatch(/^sql\/x\.sql statement 2: .*no_such_table/);
    } finally {
      db.close();
    }
  });
});
