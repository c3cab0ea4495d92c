import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { listValue, type DuckDBConnection } from '@duckdb/node-api';
import { openDatabase, runSqlFile } from '../../platform/duckdb';
import { EVENT_TYPES, type EventType } from '../contract';
import { readDelimitedFile, scanDelimitedFile, type Dialect, type FileShape } from '../delimitedFile';
import { DataValidationError, issueFromRow, issueGroupFromRow, type IssueGroup, type ValidationIssue } from '../validationError';
import { describeEventTypeSynonyms, EVENT_TYPE_SYNONYMS } from './eventTypes';
import { decodeHtmlEntities, HTML_REFERENCE_PATTERN } from './htmlEntities';

/**
 * What every importer shares once it knows where each needed value sits in its files: read both
 * files, check every row, derive the auction fields public data lacks, and write a folder that
 * follows the data contract — atomically, so a failed import leaves nothing at the output path.
 */

export type ImportFormat = 'recbole' | 'interactions';

export interface DerivationOptions {
  /** listed_at = first interaction minus this many days (default 1). */
  listingLeadDays?: number;
  /** auction_ends_at = last interaction plus this many days (default 1). */
  endingLagDays?: number;
  /** Clicks rated below this become impressions (default: none, every interaction keeps its type). */
  minRating?: number;
}

export const DEFAULT_LISTING_LEAD_DAYS = 1;
export const DEFAULT_ENDING_LAG_DAYS = 1;

/** A needed value's place in a file: the header field and the name errors call it by. */
export interface SourceColumn {
  index: number;
  name: string;
}

export interface SourceFile {
  file: string;
  dialect: Dialect;
  shape: FileShape;
}

export interface EventColumns {
  user: SourceColumn;
  item: SourceColumn;
  time: SourceColumn;
  rating?: SourceColumn;
  eventType?: SourceColumn;
}

export interface ItemColumns {
  item: SourceColumn;
  title: SourceColumn;
  category?: SourceColumn & { firstToken: boolean };
  price?: SourceColumn;
  seller?: SourceColumn;
}

export interface ImportPlan {
  format: ImportFormat;
  events: SourceFile & { columns: EventColumns };
  items: SourceFile & { columns: ItemColumns };
  out: string;
  /** Replace an existing folder at `out`. */
  force?: boolean;
  derivation?: DerivationOptions;
  /** How the source was read (the importer's options), recorded in import.json. */
  source: Record<string, unknown>;
  progress?: (message: string) => void;
}

export interface ImportReport {
  format: ImportFormat;
  out: string;
  files: { events: string; items: string };
  rowsRead: { events: number; items: number };
  items: number;
  /** Items of the items file that no interaction refers to: they cannot be placed in time. */
  droppedItems: number;
  droppedItemExamples: string[];
  events: number;
  eventsByType: Record<EventType, number>;
  users: number;
  itemsWithCategory: number;
  titlesDecoded: number;
  firstEvent: string;
  lastEvent: string;
  derivation: { listingLeadDays: number; endingLagDays: number; minRating: number | null };
  source: Record<string, unknown>;
  seconds: number;
}

/** The first issues listed in an error; the total and the per-kind counts cover all of them. */
const LISTED_ISSUES = 20;

/** Throws unless `path` is an existing file. */
export function requireFile(path: string, what: string): string {
  const file = resolve(path);
  if (!existsSync(file)) throw new DataValidationError([{ file, reason: `does not exist (the ${what})` }]);
  if (!statSync(file).isFile()) throw new DataValidationError([{ file, reason: `is not a file (the ${what})` }]);
  return file;
}

/** Fails early, before any work, when the output folder is taken. */
export function checkOutputFree(out: string, force: boolean): void {
  if (existsSync(out) && !force) throw new DataValidationError([{ file: out, reason: 'already exists; pass --force to replace it' }]);
}

export interface ColumnRequest {
  /** The column name to look for in the header. */
  name: string;
  /** The option that names it, for the error message. */
  option: string;
}

/** The columns found: a request that may be undefined gives a column that may be undefined. */
export type FoundColumns<R> = { [K in keyof R]: R[K] extends ColumnRequest ? SourceColumn : SourceColumn | undefined };

/**
 * Finds each requested column in a header (an undefined request asks for nothing). Every missing
 * one is reported at once, each naming the file, the column, the option that asks for it and the
 * columns the header does have.
 */
export function findColumns<R extends Record<string, ColumnRequest | undefined>>(file: string, header: string[], requests: R): FoundColumns<R> {
  const found: Record<string, SourceColumn | undefined> = {};
  const issues: ValidationIssue[] = [];
  for (const [key, request] of Object.entries(requests)) {
    if (!request) continue;
    const index = header.indexOf(request.name);
    if (index >= 0) found[key] = { index, name: request.name };
    else {
      issues.push({ file, column: request.name, reason: `required column is missing (${request.option}; the header has: ${header.join(', ')})` });
    }
  }
  if (issues.length > 0) throw new DataValidationError(issues);
  return found as FoundColumns<R>;
}

/** Reads a file's header and checks its structure; a file without data rows is an error. */
export async function scanSourceFile(file: string, dialect: Dialect): Promise<SourceFile> {
  const shape = await scanDelimitedFile(file, dialect);
  if (shape.rows === 0) throw new DataValidationError([{ file, reason: 'is empty (no data rows)' }]);
  return { file, dialect, shape };
}

function checkDerivation(d: DerivationOptions): ImportReport['derivation'] {
  const listingLeadDays = d.listingLeadDays ?? DEFAULT_LISTING_LEAD_DAYS;
  const endingLagDays = d.endingLagDays ?? DEFAULT_ENDING_LAG_DAYS;
  for (const [name, v] of [['listingLeadDays', listingLeadDays], ['endingLagDays', endingLagDays]] as const) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a finite number of days >= 0, got ${v}`);
  }
  if (d.minRating !== undefined && !Number.isFinite(d.minRating)) throw new RangeError(`minRating must be a finite number, got ${d.minRating}`);
  return { listingLeadDays, endingLagDays, minRating: d.minRating ?? null };
}

/** One name per header field: the needed ones get the names the SQL expects, the rest are unused. */
function sqlColumnNames(file: string, header: string[], roles: Record<string, SourceColumn | undefined>): string[] {
  const names = header.map((_, i) => `_unused_${i}`);
  for (const [role, column] of Object.entries(roles)) {
    if (!column) continue;
    const taken = names[column.index];
    if (taken !== undefined && !taken.startsWith('_unused_')) {
      throw new DataValidationError([{ file, column: column.name, reason: `is given for two purposes (${taken.replace('src_', '')} and ${role}); name another column for one of them` }]);
    }
    names[column.index] = `src_${role}`;
  }
  return names;
}

async function decodeTitles(conn: DuckDBConnection): Promise<number> {
  const encoded = await runSqlFile(conn, 'import/titles_with_references', { pattern: HTML_REFERENCE_PATTERN });
  const rows: bigint[] = [];
  const titles: string[] = [];
  for (const r of encoded) {
    const title = String(r.title);
    const decoded = decodeHtmlEntities(title);
    if (decoded !== title) {
      rows.push(BigInt(r._row as bigint));
      titles.push(decoded);
    }
  }
  if (rows.length > 0) {
    await runSqlFile(conn, 'import/update_titles', { rows: listValue(rows), titles: listValue(titles) });
  }
  return rows.length;
}

async function throwIssues(conn: DuckDBConnection): Promise<void> {
  const [count] = await runSqlFile(conn, 'import/issue_count');
  const total = Number(count?.n ?? 0);
  if (total === 0) return;
  const examples = await runSqlFile(conn, 'import/issue_examples', { limit: LISTED_ISSUES });
  const issues: ValidationIssue[] = examples.map(issueFromRow);
  const groups: IssueGroup[] = (await runSqlFile(conn, 'import/issue_summary')).map(issueGroupFromRow);
  throw new DataValidationError(issues, total, groups);
}

/**
 * Runs an import plan. Everything is read, checked and built in memory first; only a valid result
 * is written, into a temporary sibling folder that is renamed to `out` at the end.
 */
export async function runImport(plan: ImportPlan): Promise<ImportReport> {
  const t0 = Date.now();
  const progress = plan.progress ?? (() => {});
  const out = resolve(plan.out);
  checkOutputFree(out, plan.force ?? false);
  const derivation = checkDerivation(plan.derivation ?? {});
  const { events, items } = plan;
  const eventColumnNames = sqlColumnNames(events.file, events.shape.header, {
    user: events.columns.user,
    item: events.columns.item,
    time: events.columns.time,
    rating: events.columns.rating,
    event_type: events.columns.eventType,
  });
  const itemColumnNames = sqlColumnNames(items.file, items.shape.header, {
    item: items.columns.item,
    title: items.columns.title,
    category: items.columns.category,
    price: items.columns.price,
    seller: items.columns.seller,
  });

  const db = await openDatabase(':memory:');
  try {
    const conn = db.connection;
    const synonyms = Object.entries(EVENT_TYPE_SYNONYMS);
    await runSqlFile(conn, 'import/setup', {
      synonym_names: listValue(synonyms.map(([name]) => name)),
      synonym_types: listValue(synonyms.map(([, type]) => type)),
    });

    await readDelimitedFile(conn, events.file, events.dialect, eventColumnNames);
    const [eventRows] = await runSqlFile(conn, 'import/stage_events');
    progress(`read ${basename(events.file)}: ${Number(eventRows?.n ?? 0)} rows`);
    await readDelimitedFile(conn, items.file, items.dialect, itemColumnNames);
    const [itemRows] = await runSqlFile(conn, 'import/stage_items', { category_first_token: items.columns.category?.firstToken ?? false });
    progress(`read ${basename(items.file)}: ${Number(itemRows?.n ?? 0)} rows`);

    // Decoded before the checks, so a title that is only `&nbsp;` counts as blank.
    const titlesDecoded = await decodeTitles(conn);
    if (titlesDecoded > 0) progress(`decoded HTML character references in ${titlesDecoded} titles`);

    await runSqlFile(conn, 'import/validate_items', {
      file: items.file,
      item_col: items.columns.item.name,
      title_col: items.columns.title.name,
      price_col: items.columns.price?.name ?? '',
    });
    await runSqlFile(conn, 'import/validate_events', {
      file: events.file,
      items_file: basename(items.file),
      user_col: events.columns.user.name,
      item_col: events.columns.item.name,
      time_col: events.columns.time.name,
      rating_col: events.columns.rating?.name ?? '',
      event_type_col: events.columns.eventType?.name ?? '',
      has_event_type: events.columns.eventType !== undefined,
      accepted_event_types: `${EVENT_TYPES.join(', ')}, or ${describeEventTypeSynonyms()}`,
    });
    await throwIssues(conn);

    await runSqlFile(conn, 'import/build', {
      listing_lead_days: derivation.listingLeadDays,
      ending_lag_days: derivation.endingLagDays,
      min_rating: derivation.minRating,
    });
    const [c] = await runSqlFile(conn, 'import/counts');
    const eventsByType = Object.fromEntries(EVENT_TYPES.map((t) => [t, 0])) as Record<EventType, number>;
    for (const r of await runSqlFile(conn, 'import/event_type_counts')) eventsByType[String(r.event_type) as EventType] = Number(r.n);
    const report: ImportReport = {
      format: plan.format,
      out,
      files: { events: events.file, items: items.file },
      rowsRead: { events: Number(c?.events_read ?? 0), items: Number(c?.items_read ?? 0) },
      items: Number(c?.items ?? 0),
      droppedItems: Number(c?.dropped_items ?? 0),
      droppedItemExamples: ((c?.dropped_examples as unknown[] | null) ?? []).map(String),
      events: Number(c?.events ?? 0),
      eventsByType,
      users: Number(c?.users ?? 0),
      itemsWithCategory: Number(c?.items_with_category ?? 0),
      titlesDecoded,
      firstEvent: String(c?.first_event ?? ''),
      lastEvent: String(c?.last_event ?? ''),
      derivation,
      source: plan.source,
      seconds: 0,
    };
    progress(
      `items: ${report.items} written, ${report.droppedItems} left out (no interaction refers to them)` +
        (report.droppedItems > 0 ? `, e.g. ${report.droppedItemExamples.join(', ')}` : ''),
    );
    const types = EVENT_TYPES.filter((t) => eventsByType[t] > 0).map((t) => `${t} ${eventsByType[t]}`);
    progress(`events: ${report.events} (${types.join(', ')}) from ${report.users} users, ${report.firstEvent} to ${report.lastEvent}`);

    mkdirSync(dirname(out), { recursive: true });
    const tmp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    try {
      await runSqlFile(conn, 'import/write_items', { path: join(tmp, 'items.parquet') });
      await runSqlFile(conn, 'import/write_events', { path: join(tmp, 'events.parquet') });
      report.seconds = (Date.now() - t0) / 1000;
      writeFileSync(join(tmp, 'import.json'), JSON.stringify({ ...report, out: undefined }, null, 2) + '\n');
      if (existsSync(out)) {
        // --force: the old folder goes only once the new one is complete.
        const old = `${tmp}.old`;
        renameSync(out, old);
        renameSync(tmp, out);
        rmSync(old, { recursive: true, force: true });
      } else {
        renameSync(tmp, out);
      }
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    return report;
  } finally {
    db.close();
  }
}
