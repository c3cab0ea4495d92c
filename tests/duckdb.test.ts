import { duckDbDefaults, DuckDbSettingError, openDatabase, runScript, runSqlFile, SqlError } from '../platform/duckdb';

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

  it('caps DuckDB memory from CURIO_DUCKDB_MEMORY_LIMIT, and names a bad value', async () => {
    expect(duckDbDefaults({})).toEqual({});
    expect(duckDbDefaults({ CURIO_DUCKDB_MEMORY_LIMIT: ' 512MB ' })).toEqual({ memory_limit: '512MB' });
    expect(() => duckDbDefaults({ CURIO_DUCKDB_MEMORY_LIMIT: 'lots' })).toThrow(DuckDbSettingError);
    expect(() => duckDbDefaults({ CURIO_DUCKDB_MEMORY_LIMIT: 'lots' })).toThrow(/CURIO_DUCKDB_MEMORY_LIMIT must be a size such as 8GB or 512MB, got 'lots'/);
    const before = process.env.CURIO_DUCKDB_MEMORY_LIMIT;
    process.env.CURIO_DUCKDB_MEMORY_LIMIT = '512MB';
    try {
      const db = await openDatabase(':memory:');
      try {
        const reader = await db.connection.runAndReadAll("SELECT current_setting('memory_limit') AS m");
        // DuckDB reports it in its own units (512MB = 488.2 MiB).
        expect(String(reader.getRowObjects()[0]?.m)).toMatch(/^488\.\d+ MiB$/);
      } finally {
        db.close();
      }
    } finally {
      if (before === undefined) delete process.env.CURIO_DUCKDB_MEMORY_LIMIT;
      else process.env.CURIO_DUCKDB_MEMORY_LIMIT = before;
    }
  });
});
