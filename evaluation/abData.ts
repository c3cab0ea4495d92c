import type { DuckDBConnection } from '@duckdb/node-api';
import { runSqlFile } from '../platform/duckdb';
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

  const clicks = new Map<number, { items: number[]; times: number[]; sessions: string[] }>();
  for (const r of await runSqlFile(conn, 'retrieval/ab_clicks')) {
    const u = Number(r.user_idx);
    let c = clicks.get(u);
    if (!c) clicks.set(u, (c = { items: [], times: [], sessions: [] }));
    c.items.push(Number(r.item_idx));
    c.times.push(Number(r.ts));
    c.sessions.push(String(r.session_key));
  }
  const seen = new Map<number, { items: number[]; times: number[] }>();
  for (const r of await runSqlFile(conn, 'retrieval/ab_seen')) {
    const u = Number(r.user_idx);
    let s = seen.get(u);
    if (!s) seen.set(u, (s = { items: [], times: [] }));
    s.items.push(Number(r.item_idx));
    s.times.push(Number(r.first_seen));
  }
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
