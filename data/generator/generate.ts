import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { DOUBLE, FLOAT, INTEGER, LIST, VARCHAR, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { openDatabase, runSqlFile } from '../../platform/duckdb';
import { loadLexicon, type Lexicon } from '../../tagging/lexicon';
import { behaviourContext, simulateUser, type EventRow, type SearchRow } from './behaviour';
import { CLICK_MODEL } from './clickModel';
import { SCALES, type ScaleName } from './scales';
import type { Lang } from './titles';
import { buildWorld, IMAGE_DIM, LATENT_DIM, type World } from './world';

export const GENERATOR_VERSION = 1;
/** Every synthetic marketplace starts at the same instant, so a dataset depends only on (scale, seed, lang). */
export const SYNTHETIC_START = Date.UTC(2026, 5, 1);

export interface GenerateOptions {
  scale: ScaleName;
  seed: number;
  out: string;
  lang?: Lang | 'mixed';
  /** Replace an existing output folder. */
  force?: boolean;
  progress?: (message: string) => void;
}

export interface GenerateSummary {
  out: string;
  scale: ScaleName;
  seed: number;
  items: number;
  users: number;
  events: number;
  searches: number;
  eventsByType: Record<string, number>;
  seconds: number;
}

/**
 * Writes a synthetic marketplace: items, events and searches in the data contract's layout (what a
 * user would point Curio at), plus truth/ with the hidden world for the A/B simulator and for
 * measuring tagging. Output appears atomically: it is built in a sibling temp folder and renamed.
 */
export async function generateMarketplace(opts: GenerateOptions, lex: Lexicon = loadLexicon()): Promise<GenerateSummary> {
  const t0 = Date.now();
  const out = resolve(opts.out);
  const progress = opts.progress ?? (() => {});
  if (existsSync(out) && !opts.force) throw new Error(`${out} already exists; pass --force to replace it`);
  if (!Number.isInteger(opts.seed) || opts.seed < 0) throw new Error(`seed must be a non-negative integer, got ${opts.seed}`);
  const scale = SCALES[opts.scale];
  const lang = opts.lang ?? 'zh';
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'events'), { recursive: true });
  mkdirSync(join(tmp, 'truth'), { recursive: true });

  const db = await openDatabase(':memory:');
  try {
    progress(`building the world: ${scale.items} items, ${scale.users} users, ${scale.topics} topics`);
    const world = buildWorld({ scale, seed: opts.seed, lang, start: SYNTHETIC_START }, lex);
    await writeItems(db.connection, world, tmp);
    await writeTruth(db.connection, world, tmp);

    const ctx = behaviourContext(world, lex, scale, lang);
    const eventsByType: Record<string, number> = {};
    let events = 0;
    let searches = 0;
    const allSearches: SearchRow[] = [];
    for (let from = 0, part = 0; from < world.users.length; from += scale.usersPerPart, part++) {
      const chunk: EventRow[] = [];
      let simulated = 0;
      for (const user of world.users.slice(from, from + scale.usersPerPart)) {
        // Inside a worker, the event loop also carries heartbeats and workflow tasks: yield now and then.
        if (++simulated % 200 === 0) await new Promise((r) => setImmediate(r));
        const r = simulateUser(ctx, user, opts.seed);
        for (const e of r.events) chunk.push(e);
        for (const s of r.searches) allSearches.push(s);
      }
      for (const e of chunk) eventsByType[e.type] = (eventsByType[e.type] ?? 0) + 1;
      await writeEvents(db.connection, world, chunk, join(tmp, 'events', `part-${String(part).padStart(5, '0')}.parquet`));
      events += chunk.length;
      progress(`events: users ${Math.min(from + scale.usersPerPart, world.users.length)}/${world.users.length}, ${events} events`);
    }
    searches = allSearches.length;
    await writeSearches(db.connection, world, allSearches, tmp);

    const summary: GenerateSummary = {
      out,
      scale: opts.scale,
      seed: opts.seed,
      items: world.items.length,
      users: world.users.length,
      events,
      searches,
      eventsByType,
      seconds: 0,
    };
    writeFileSync(
      join(tmp, 'truth', 'manifest.json'),
      JSON.stringify(
        {
          generator: 'curio-synthetic-marketplace',
          version: GENERATOR_VERSION,
          scale: opts.scale,
          seed: opts.seed,
          lang,
          period: { start: new Date(world.start).toISOString(), end: new Date(world.end).toISOString() },
          latentDim: LATENT_DIM,
          imageDim: IMAGE_DIM,
          counts: { items: world.items.length, users: world.users.length, events, searches, eventsByType },
          impressionLogRate: scale.impressionLogRate,
          clickModel: CLICK_MODEL,
        },
        null,
        2,
      ),
    );
    rmSync(out, { recursive: true, force: true });
    renameSync(tmp, out);
    summary.seconds = (Date.now() - t0) / 1000;
    return summary;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    db.close();
  }
}

const FLOATS = LIST(FLOAT);

async function appendRows(conn: DuckDBConnection, table: string, fill: (a: DuckDBAppender) => void): Promise<void> {
  const appender = await conn.createAppender(table);
  try {
    fill(appender);
  } finally {
    appender.closeSync();
  }
}

const str = (a: DuckDBAppender, v: string | null) => (v === null ? a.appendNull() : a.appendVarchar(v));
const int = (a: DuckDBAppender, v: number | null) => (v === null ? a.appendNull() : a.appendInteger(v));

async function writeItems(conn: DuckDBConnection, world: World, dir: string): Promise<void> {
  await runSqlFile(conn, 'generator/stage_items');
  await appendRows(conn, 'stage_items', (a) => {
    for (const it of world.items) {
      a.appendVarchar(it.id);
      a.appendVarchar(it.title);
      a.appendVarchar(world.sellers[it.seller]?.id ?? '');
      a.appendDouble(it.startPrice);
      a.appendBigInt(BigInt(it.listedAt));
      a.appendBigInt(BigInt(it.endsAt));
      str(a, it.formCategory);
      a.appendList(Array.from(it.image), FLOATS);
      a.endRow();
    }
  });
  await runSqlFile(conn, 'generator/write_items', { path: join(dir, 'items.parquet') });
}

async function writeEvents(conn: DuckDBConnection, world: World, rows: EventRow[], path: string): Promise<void> {
  await runSqlFile(conn, 'generator/stage_events');
  await appendRows(conn, 'stage_events', (a) => {
    for (const e of rows) {
      a.appendVarchar(world.users[e.user]?.id ?? '');
      a.appendVarchar(world.items[e.item]?.id ?? '');
      a.appendVarchar(e.type);
      a.appendBigInt(BigInt(e.ts));
      str(a, e.sessionId);
      a.appendVarchar(e.source);
      int(a, e.position);
      str(a, e.searchId);
      a.endRow();
    }
  });
  await runSqlFile(conn, 'generator/write_events', { path });
}

async function writeSearches(conn: DuckDBConnection, world: World, rows: SearchRow[], dir: string): Promise<void> {
  await runSqlFile(conn, 'generator/stage_searches');
  await appendRows(conn, 'stage_searches', (a) => {
    for (const s of rows) {
      a.appendVarchar(s.searchId);
      a.appendVarchar(world.users[s.user]?.id ?? '');
      a.appendVarchar(s.query);
      a.appendBigInt(BigInt(s.ts));
      a.appendInteger(s.topic);
      a.appendList(s.termIds, LIST(VARCHAR));
      a.endRow();
    }
  });
  await runSqlFile(conn, 'generator/write_searches', { path: join(dir, 'searches.parquet'), truth_path: join(dir, 'truth', 'searches.parquet') });
}

async function writeTruth(conn: DuckDBConnection, world: World, dir: string): Promise<void> {
  await runSqlFile(conn, 'generator/stage_truth');
  await appendRows(conn, 'truth_topics', (a) => {
    for (const t of world.topics) {
      a.appendInteger(t.id);
      a.appendVarchar(t.category);
      a.appendList(Array.from(t.vector), FLOATS);
      a.appendList(Object.values(t.prefs).flatMap((terms) => (terms ?? []).map((x) => x.id)), LIST(VARCHAR));
      a.appendDouble(t.popularity);
      a.endRow();
    }
  });
  await appendRows(conn, 'truth_users', (a) => {
    for (const u of world.users) {
      a.appendVarchar(u.id);
      a.appendVarchar(u.expertise);
      a.appendList(u.interests, LIST(INTEGER));
      a.appendList(u.weights, LIST(DOUBLE));
      a.appendDouble(u.activity);
      a.endRow();
    }
  });
  await appendRows(conn, 'truth_items', (a) => {
    for (const it of world.items) {
      a.appendVarchar(it.id);
      a.appendInteger(it.topic);
      a.appendVarchar(it.category);
      a.appendList(Array.from(it.latent), FLOATS);
      a.appendDouble(it.quality);
      a.appendList(it.truth.map((t) => t.type), LIST(VARCHAR));
      a.appendList(it.truth.map((t) => t.id), LIST(VARCHAR));
      a.appendList(it.truth.map((t) => t.surface), LIST(VARCHAR));
      a.endRow();
    }
  });
  await runSqlFile(conn, 'generator/write_truth', {
    topics_path: join(dir, 'truth', 'topics.parquet'),
    users_path: join(dir, 'truth', 'users.parquet'),
    items_path: join(dir, 'truth', 'items.parquet'),
  });
}
