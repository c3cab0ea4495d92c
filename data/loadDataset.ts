import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { openDatabase, runSqlFile, discardDatabase } from '../platform/duckdb';
import { CONTRACT_VERSION, TABLE_ORDER, TABLES, type TableName } from './contract';
import { CONTRACT_CSV, readDelimitedFile, scanDelimitedFile, type FileShape } from './delimitedFile';
import { DataValidationError, issueFromRow, issueGroupFromRow, type ValidationIssue } from './validationError';

/**
 * Loads a folder of items / events / searches (Parquet or CSV) into a DuckDB database, validating
 * every row against the data contract. All or nothing: the database appears (atomically renamed into
 * place) only when loading succeeded. With `quarantine`, bad rows go to a `quarantine` table with
 * their reason instead of failing the load; they are counted and reported, never dropped silently.
 */

export type FileFormat = 'parquet' | 'csv';

export interface TableFiles {
  table: TableName;
  format: FileFormat;
  files: string[];
}

export interface LoadOptions {
  /** Folder with the input tables. */
  dir: string;
  /** Where to write the database. */
  out: string;
  quarantine?: boolean;
  progress?: (message: string) => void;
}

export interface LoadReport {
  contractVersion: number;
  dir: string;
  digest: string;
  files: { path: string; bytes: number }[];
  rows: Record<TableName, number>;
  quarantined: Record<TableName, number>;
  issueSummary: { table: string; column: string; reason: string; count: number; firstFile: string; firstRow: number }[];
  seconds: number;
}

/** Finds each table as <name>.parquet, <name>.csv or a <name>/ folder of such files. */
export function locateTables(dir: string): TableFiles[] {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new DataValidationError([{ file: root, reason: 'is not a folder' }]);
  }
  const found: TableFiles[] = [];
  for (const table of TABLE_ORDER) {
    const candidates: TableFiles[] = [];
    for (const format of ['parquet', 'csv'] as const) {
      const single = join(root, `${table}.${format}`);
      if (existsSync(single)) candidates.push({ table, format, files: [single] });
    }
    const folder = join(root, table);
    if (existsSync(folder) && statSync(folder).isDirectory()) {
      const entries = readdirSync(folder).filter((f) => !f.startsWith('.')).sort();
      const parquet = entries.filter((f) => f.endsWith('.parquet')).map((f) => join(folder, f));
      const csv = entries.filter((f) => f.endsWith('.csv')).map((f) => join(folder, f));
      if (parquet.length && csv.length) {
        throw new DataValidationError([{ file: folder, reason: 'mixes .parquet and .csv files; use one format per table' }]);
      }
      if (parquet.length) candidates.push({ table, format: 'parquet', files: parquet });
      else if (csv.length) candidates.push({ table, format: 'csv', files: csv });
      else throw new DataValidationError([{ file: folder, reason: 'contains no .parquet or .csv files' }]);
    }
    if (candidates.length > 1) {
      throw new DataValidationError([
        { file: root, reason: `has ${table} in more than one form (${candidates.map((c) => relative(root, c.files[0] ?? '')).join(', ')}); keep one` },
      ]);
    }
    const [c] = candidates;
    if (c) found.push(c);
    else if (TABLES[table].required) {
      throw new DataValidationError([{ file: root, reason: `has no ${table} table (${table}.parquet, ${table}.csv or a ${table}/ folder)` }]);
    }
  }
  return found;
}

/** sha256 over every input file's relative path and bytes: the dataset's identity. */
export async function datasetDigest(dir: string, tables: TableFiles[]): Promise<string> {
  const h = createHash('sha256');
  h.update(`curio-contract-v${CONTRACT_VERSION}\n`);
  for (const t of tables) {
    for (const f of t.files) {
      h.update(`${relative(resolve(dir), f)}\n`);
      await new Promise<void>((res, rej) => {
        createReadStream(f)
          .on('data', (chunk) => h.update(chunk))
          .on('end', () => res())
          .on('error', rej);
      });
    }
  }
  return h.digest('hex');
}

/**
 * CSV files must be non-empty UTF-8 with one header and rows of as many fields, every quote closed;
 * the first problems are reported with their row and line. Returns the header and row count.
 */
export function precheckCsv(file: string): Promise<FileShape> {
  return scanDelimitedFile(file, CONTRACT_CSV);
}

async function stageFile(conn: DuckDBConnection, table: TableName, format: FileFormat, file: string, csvShape?: FileShape): Promise<number> {
  try {
    if (format === 'csv') {
      if (!csvShape) throw new Error(`internal: ${file} was not prechecked`);
      await readDelimitedFile(conn, file, CONTRACT_CSV, csvShape.header);
    } else {
      await runSqlFile(conn, 'load/read_parquet', { file });
    }
  } catch (err) {
    throw new DataValidationError([{ file, reason: `cannot be read as ${format.toUpperCase()}: ${(err as Error).message.replace(/^sql\/[^:]+: /, '')}` }]);
  }
  const columns = new Set((await runSqlFile(conn, 'load/incoming_columns')).map((r) => String(r.column_name)));
  const missing = TABLES[table].columns.filter((c) => c.required && !columns.has(c.name)).map((c) => c.name);
  if (missing.length > 0) {
    const known = TABLES[table].columns.map((c) => c.name).join(', ');
    throw new DataValidationError(
      missing.map((column) => ({ file, column, reason: `required column is missing (the ${table} table has: ${known})` })),
    );
  }
  const [count] = await runSqlFile(conn, 'load/incoming_count');
  const n = Number(count?.n ?? 0);
  if (n === 0) throw new DataValidationError([{ file, reason: 'is empty (no data rows)' }]);
  await runSqlFile(conn, `load/append_${table}`, { file });
  return n;
}

export async function loadDataset(opts: LoadOptions): Promise<LoadReport> {
  const t0 = Date.now();
  const progress = opts.progress ?? (() => {});
  const tables = locateTables(opts.dir);
  const csvShapes = new Map<string, FileShape>();
  for (const t of tables) if (t.format === 'csv') for (const f of t.files) csvShapes.set(f, await precheckCsv(f));
  const digest = await datasetDigest(opts.dir, tables);

  const out = resolve(opts.out);
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}`);
  rmSync(tmp, { force: true });
  rmSync(`${tmp}.wal`, { force: true });
  const db = await openDatabase(tmp);
  let ok = false;
  try {
    const conn = db.connection;
    await runSqlFile(conn, 'load/create_raw');
    for (const t of tables) {
      for (const f of t.files) {
        const n = await stageFile(conn, t.table, t.format, f, csvShapes.get(f));
        progress(`read ${relative(resolve(opts.dir), f)}: ${n} rows`);
      }
    }
    await runSqlFile(conn, 'load/validate_items');
    await runSqlFile(conn, 'load/validate_searches');
    await runSqlFile(conn, 'load/validate_events');
    const summary = (await runSqlFile(conn, 'load/issue_summary')).map(issueGroupFromRow);
    if (summary.length > 0 && !opts.quarantine) {
      const examples = await runSqlFile(conn, 'load/issue_examples', { limit: 20 });
      const issues: ValidationIssue[] = examples.map(issueFromRow);
      throw new DataValidationError(issues, summary.reduce((s, x) => s + x.count, 0), summary);
    }
    await runSqlFile(conn, 'load/finalize');
    const counts = await runSqlFile(conn, 'load/table_counts');
    const q = await runSqlFile(conn, 'load/quarantine_counts');
    const quarantined = { items: 0, events: 0, searches: 0 } as Record<TableName, number>;
    for (const r of q) quarantined[String(r.table_name) as TableName] = Number(r.n);
    const rows = {
      items: Number(counts[0]?.items ?? 0),
      events: Number(counts[0]?.events ?? 0),
      searches: Number(counts[0]?.searches ?? 0),
    };
    for (const table of ['items', 'events'] as const) {
      if (rows[table] === 0) {
        throw new DataValidationError([{ file: resolve(opts.dir), reason: `no valid ${table} rows remain after quarantine (${quarantined[table]} quarantined)` }]);
      }
    }
    const report: LoadReport = {
      contractVersion: CONTRACT_VERSION,
      dir: resolve(opts.dir),
      digest,
      files: tables.flatMap((t) => t.files.map((f) => ({ path: relative(resolve(opts.dir), f), bytes: statSync(f).size }))),
      rows,
      quarantined,
      issueSummary: summary,
      seconds: 0,
    };
    await conn.run('CHECKPOINT');
    db.close();
    rmSync(out, { force: true });
    renameSync(tmp, out);
    ok = true;
    report.seconds = (Date.now() - t0) / 1000;
    return report;
  } finally {
    if (!ok) discardDatabase(db, tmp);
  }
}
