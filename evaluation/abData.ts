import type { DuckDBConnection, DuckDBVector } from '@duckdb/node-api';
import { forEachChunk, runSqlFile } from '../platform/duckdb';
import { loadCatalogue } from '../retrieval/catalogue';
import type { Catalogue } from '../retrieval/types';
import { lowerBound } from '../platform/binarySearch';

/**
 * What the A/B simulator reads from the feature DB (attached as `feat`) and the tags DB (`tags`):
 * the catalogue, the held-out sessions, and each user's logged clicks and first sightings, so that a
 * feed at time t uses exactly the history a production request at t would have.
 */

export interface HeldOutSession {
  userIdx: number;
  userId: string;
  sessionKey: string;
  startedAt: number;
}

/** A user's logged behaviour, in time order. */
export interface UserLog {
  clickItems: Int32Array;
  clickTimes: Float64Array;
  clickSessions: string[];
  seenItems: Int32Array;
  /** When each seenItems entry was first seen (ascending). */
  seenTimes: Float64Array;
}

export interface AbData {
  catalogue: Catalogue;
  dataStart: number;
  testStart: number;
  dataEnd: number;
  sessions: HeldOutSession[];
  logs: Map<number, UserLog>;
}

export async function loadAbData(conn: DuckDBConnection, userSplits: readonly string[]): Promise<AbData> {
  const catalogue = await loadCatalogue(conn);
  const [period] = await runSqlFile(conn, 'retrieval/ab_period');
  if (!period) throw new Error('the feature DB has no periods row');
  const sessions = (await runSqlFile(conn, 'retrieval/ab_sessions', { user_splits: userSplits.join(',') })).map((r) => ({
    userIdx: Number(r.user_idx),
    userId: String(r.user_id),
    sessionKey: String(r.session_key),
    startedAt: Number(r.started_at),
  }));

  // Both streamed: at 500k lots these users' clicks and first sightings are millions of rows each.
  const clicks = new Map<number, { items: number[]; times: number[]; sessions: string[] }>();
  await forEachChunk(conn, 'retrieval/ab_clicks', {}, (chunk, column) => {
    const [user, item, ts, session] = ['user_idx', 'item_idx', 'ts', 'session_key'].map((c) => chunk.getColumnVector(column(c))) as [DuckDBVector, DuckDBVector, DuckDBVector, DuckDBVector];
    for (let r = 0; r < chunk.rowCount; r++) {
      const u = Number(user.getItem(r));
      let c = clicks.get(u);
      if (!c) clicks.set(u, (c = { items: [], times: [], sessions: [] }));
      c.items.push(Number(item.getItem(r)));
      c.times.push(Number(ts.getItem(r)));
      c.sessions.push(String(session.getItem(r)));
    }
  });
  const seen = new Map<number, { items: number[]; times: number[] }>();
  await forEachChunk(conn, 'retrieval/ab_seen', {}, (chunk, column) => {
    const [user, item, firstSeen] = ['user_idx', 'item_idx', 'first_seen'].map((c) => chunk.getColumnVector(column(c))) as [DuckDBVector, DuckDBVector, DuckDBVector];
    for (let r = 0; r < chunk.rowCount; r++) {
      const u = Number(user.getItem(r));
      let x = seen.get(u);
      if (!x) seen.set(u, (x = { items: [], times: [] }));
      x.items.push(Number(item.getItem(r)));
      x.times.push(Number(firstSeen.getItem(r)));
    }
  });
  const logs = new Map<number, UserLog>();
  for (const u of new Set([...clicks.keys(), ...seen.keys()])) {
    const c = clicks.get(u);
    const s = seen.get(u);
    logs.set(u, {
      clickItems: Int32Array.from(c?.items ?? []),
      clickTimes: Float64Array.from(c?.times ?? []),
      clickSessions: c?.sessions ?? [],
      seenItems: Int32Array.from(s?.items ?? []),
      seenTimes: Float64Array.from(s?.times ?? []),
    });
  }
  return {
    catalogue,
    dataStart: Number(period.data_start),
    testStart: Number(period.test_start),
    dataEnd: Number(period.data_end),
    sessions,
    logs,
  };
}

/** How many entries of an ascending time array lie strictly before t. */
export function countBefore(times: Float64Array, t: number): number {
  return lowerBound(times, t);
}
