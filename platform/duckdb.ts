import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBConnection, DuckDBInstance, type DuckDBDataChunk, type DuckDBValue } from '@duckdb/node-api';
import { sqlDir } from './paths';
import { CurioError } from './errors';

export type SqlParams = Record<string, DuckDBValue>;
export type Row = Record<string, unknown>;

export interface Database {
  instance: DuckDBInstance;
  connection: DuckDBConnection;
  close(): void;
}

/** A bad CURIO_DUCKDB_* setting: named, and not retried (the same value fails the same way). */
export class DuckDbSettingError extends CurioError {
  constructor(message: string) {
    super(message, { type: 'DuckDbSettingError', retryable: false });
  }
}

/**
 * Options every database Curio opens gets. CURIO_DUCKDB_MEMORY_LIMIT (a DuckDB size: '8GB',
 * '512MB', ...) caps DuckDB's memory, beyond which it spills to a temporary folder beside the file;
 * unset, DuckDB takes up to 80% of the machine's memory, which a large retrain's feature SQL does
 * use (18 GB on a 23 GB machine). A caller's own options win.
 */
export function duckDbDefaults(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const limit = env.CURIO_DUCKDB_MEMORY_LIMIT?.trim();
  if (!limit) return {};
  if (!/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(limit)) {
    throw new DuckDbSettingError(`CURIO_DUCKDB_MEMORY_LIMIT must be a size such as 8GB or 512MB, got '${limit}'`);
  }
  return { memory_limit: limit };
}

/** Opens (or creates) a DuckDB database file; ':memory:' for an in-memory one. */
export async function openDatabase(path: string, options: Record<string, string> = {}): Promise<Database> {
  const instance = await DuckDBInstance.create(path, { ...duckDbDefaults(), ...options });
  const connection = await instance.connect();
  return {
    instance,
    connection,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** Closes a database that is being abandoned half-written and deletes its file and WAL. */
export function discardDatabase(db: Database, path: string): void {
  try {
    db.close();
  } catch {
    /* already closed */
  }
  rmSync(path, { force: true });
  rmSync(`${path}.wal`, { force: true });
}

/** A failed SQL statement, named by file and statement number. */
export class SqlError extends CurioError {
  constructor(
    readonly source: string,
    readonly statement: number,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`${source}${statement ? ` statement ${statement}` : ''}: ${reason}`, { type: 'SqlError', retryable: true, cause });
  }
}

const sqlCache = new Map<string, string>();

/** The text of sql/<name>.sql. SQL lives in files so it can be read, linted and run on its own. */
export function loadSql(name: string): string {
  let text = sqlCache.get(name);
  if (text === undefined) {
    text = readFileSync(join(sqlDir, `${name}.sql`), 'utf8');
    sqlCache.set(name, text);
  }
  return text;
}

/**
 * Runs every statement of a SQL script in order, binding named parameters ($name) from `params`.
 * Each statement gets only the parameters it names, so one parameter object serves a whole file.
 * Returns the rows of the last statement.
 */
export async function runScript(
  conn: DuckDBConnection,
  sql: string,
  params: SqlParams = {},
  source = 'inline SQL',
): Promise<Row[]> {
  const extracted = await conn.extractStatements(sql).catch((err: unknown) => {
    throw new SqlError(source, 0, err);
  });
  let rows: Row[] = [];
  for (let i = 0; i < extracted.count; i++) {
    const stmt = await extracted.prepare(i).catch((err: unknown) => {
      throw new SqlError(source, i + 1, err);
    });
    try {
      const bound: SqlParams = {};
      for (let p = 1; p <= stmt.parameterCount; p++) {
        const name = stmt.parameterName(p);
        if (!(name in params)) {
          throw new SqlError(source, i + 1, `needs parameter $${name}, which was not given`);
        }
        bound[name] = params[name] as DuckDBValue;
      }
      if (stmt.parameterCount > 0) stmt.bind(bound);
      const reader = await stmt.runAndReadAll();
      rows = reader.getRowObjectsJS() as Row[];
    } catch (err) {
      throw err instanceof SqlError ? err : new SqlError(source, i + 1, err);
    } finally {
      stmt.destroySync();
    }
  }
  return rows;
}

/** Prepares the one statement of sql/<name>.sql with its named parameters bound. */
async function prepareOne(conn: DuckDBConnection, name: string, params: SqlParams, caller: string) {
  const extracted = await conn.extractStatements(loadSql(name));
  if (extracted.count !== 1) throw new SqlError(`sql/${name}.sql`, 0, `${caller} needs a file with exactly one statement`);
  const stmt = await extracted.prepare(0);
  const bound: SqlParams = {};
  for (let p = 1; p <= stmt.parameterCount; p++) {
    const pname = stmt.parameterName(p);
    if (!(pname in params)) {
      stmt.destroySync();
      throw new SqlError(`sql/${name}.sql`, 1, `needs parameter $${pname}, which was not given`);
    }
    bound[pname] = params[pname] as DuckDBValue;
  }
  if (stmt.parameterCount > 0) stmt.bind(bound);
  return stmt;
}

/** Column-wise results of sql/<name>.sql (cheaper than row objects for millions of rows). */
export async function readColumns(conn: DuckDBConnection, name: string, params: SqlParams = {}): Promise<Record<string, unknown[]>> {
  const stmt = await prepareOne(conn, name, params, 'readColumns');
  try {
    const reader = await stmt.runAndReadAll();
    return reader.getColumnsObjectJS() as Record<string, unknown[]>;
  } catch (err) {
    throw err instanceof SqlError ? err : new SqlError(`sql/${name}.sql`, 1, err);
  } finally {
    stmt.destroySync();
  }
}

/**
 * Streams the rows of sql/<name>.sql to `visit` one DuckDB chunk (about 2k rows) at a time, with a
 * lookup from column name to index, and returns the row count. For results of tens of millions of
 * rows: neither DuckDB's materialized chunks nor JS arrays of every value are ever held whole (at
 * 500k lots the skip-gram pairs and the user model's examples took gigabytes that way); the caller
 * copies what it keeps into typed arrays (`GrowableInt32`, `GrowableFloat32`).
 */
export async function forEachChunk(
  conn: DuckDBConnection,
  name: string,
  params: SqlParams,
  visit: (chunk: DuckDBDataChunk, column: (name: string) => number) => void,
): Promise<number> {
  const stmt = await prepareOne(conn, name, params, 'forEachChunk');
  try {
    const result = await stmt.stream();
    const names = result.columnNames();
    const column = (c: string): number => {
      const i = names.indexOf(c);
      if (i < 0) throw new SqlError(`sql/${name}.sql`, 1, `has no column '${c}' (it has ${names.join(', ')})`);
      return i;
    };
    let rows = 0;
    for (let chunk = await result.fetchChunk(); chunk !== null && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
      visit(chunk, column);
      rows += chunk.rowCount;
    }
    return rows;
  } catch (err) {
    throw err instanceof SqlError ? err : new SqlError(`sql/${name}.sql`, 1, err);
  } finally {
    stmt.destroySync();
  }
}

/** An Int32Array that grows by doubling as values are appended; `toArray()` returns exactly the values appended. */
export class GrowableInt32 {
  private buf = new Int32Array(1 << 12);
  length = 0;
  /** Room for `n` more values. */
  reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length;
    while (size < this.length + n) size *= 2;
    const next = new Int32Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  push(x: number): void {
    if (this.length === this.buf.length) this.reserve(1);
    this.buf[this.length++] = x;
  }
  /** The backing array, for writing `n` reserved values in place at `length` (then add them to `length`). */
  get raw(): Int32Array {
    return this.buf;
  }
  toArray(): Int32Array {
    return this.buf.length === this.length ? this.buf : this.buf.slice(0, this.length);
  }
}

/** GrowableInt32's Float32Array twin. */
export class GrowableFloat32 {
  private buf = new Float32Array(1 << 12);
  length = 0;
  push(x: number): void {
    if (this.length === this.buf.length) {
      const next = new Float32Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = x;
  }
  toArray(): Float32Array {
    return this.buf.length === this.length ? this.buf : this.buf.slice(0, this.length);
  }
}

/** Runs sql/<name>.sql with named parameters. */
export function runSqlFile(conn: DuckDBConnection, name: string, params: SqlParams = {}): Promise<Row[]> {
  return runScript(conn, loadSql(name), params, `sql/${name}.sql`);
}

/** A SQL string literal. Only for the statements DuckDB cannot bind parameters in (ATTACH). */
function sqlStringLiteral(s: string): string {
  if (s.includes('\0')) throw new Error('a NUL byte cannot appear in a path');
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * Attaches another database file under an alias. DuckDB's ATTACH takes no bound parameters, so this
 * is the one place a value (a path, never user data) is quoted into SQL text.
 */
export async function attachDatabase(conn: DuckDBConnection, path: string, alias: 'src' | 'tags' | 'feat', readOnly = true): Promise<void> {
  await conn.run(`ATTACH ${sqlStringLiteral(path)} AS ${alias}${readOnly ? ' (READ_ONLY)' : ''}`);
}
