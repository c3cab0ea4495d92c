import { renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { attachDatabase, openDatabase, runSqlFile, discardDatabase } from '../platform/duckdb';

/** Parameters of the feature SQL (sql/features/*.sql); every one is logged with the run. */
export interface FeatureParams {
  seed: number;
  sessionGapMinutes: number;
  /** Share of the events (by time) in the train period; the valid period ends at validEndFrac. */
  trainEndFrac: number;
  validEndFrac: number;
  validUserFrac: number;
  testUserFrac: number;
  priceBands: number;
  maxLong: number;
  longSessions: number;
  maxShort: number;
  window: number;
  subsampleT: number;
  negatives: number;
  negPower: number;
  cfTopK: number;
}

export const DEFAULT_FEATURE_PARAMS: FeatureParams = {
  seed: 7,
  sessionGapMinutes: 30,
  trainEndFrac: 0.8,
  validEndFrac: 0.9,
  validUserFrac: 0.1,
  testUserFrac: 0.1,
  priceBands: 10,
  maxLong: 50,
  longSessions: 20,
  maxShort: 10,
  window: 3,
  subsampleT: 1e-3,
  negatives: 5,
  negPower: 0.75,
  cfTopK: 100,
};

export function validateFeatureParams(p: FeatureParams): void {
  const bad = (name: string, why: string) => {
    throw new Error(`feature parameter ${name}: ${why}`);
  };
  if (!(p.trainEndFrac > 0 && p.trainEndFrac < p.validEndFrac && p.validEndFrac < 1)) bad('trainEndFrac/validEndFrac', 'need 0 < trainEndFrac < validEndFrac < 1');
  if (!(p.validUserFrac >= 0 && p.testUserFrac > 0 && p.validUserFrac + p.testUserFrac < 1)) bad('validUserFrac/testUserFrac', 'need fractions in [0,1) summing below 1');
  for (const k of ['sessionGapMinutes', 'priceBands', 'maxLong', 'longSessions', 'maxShort', 'window', 'negatives', 'cfTopK'] as const) {
    if (!(Number.isInteger(p[k]) && p[k] >= 1)) bad(k, `must be a positive integer, got ${p[k]}`);
  }
  if (!(p.subsampleT > 0)) bad('subsampleT', 'must be > 0');
  if (!(p.negPower >= 0)) bad('negPower', 'must be >= 0');
}

export const FEATURE_STAGES = ['01_index', '02_sessions', '03_sequences', '04_skipgram', '05_keyword', '06_item_cf'] as const;

export interface FeatureReport {
  stageSeconds: Record<string, number>;
  rows: Record<string, number>;
  periods: { dataStart: string; trainEnd: string; validEnd: string; dataEnd: string };
  seconds: number;
}

/** Runs the feature SQL over a loaded dataset into a new database, atomically. */
export async function buildFeatures(
  datasetDb: string,
  out: string,
  params: FeatureParams = DEFAULT_FEATURE_PARAMS,
  progress: (stage: string, seconds: number) => void = () => {},
): Promise<FeatureReport> {
  validateFeatureParams(params);
  const t0 = Date.now();
  const target = resolve(out);
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}`);
  rmSync(tmp, { force: true });
  const db = await openDatabase(tmp);
  let ok = false;
  try {
    await attachDatabase(db.connection, resolve(datasetDb), 'src');
    const sqlParams = {
      seed: params.seed,
      session_gap_minutes: params.sessionGapMinutes,
      train_end_frac: params.trainEndFrac,
      valid_end_frac: params.validEndFrac,
      valid_user_frac: params.validUserFrac,
      test_user_frac: params.testUserFrac,
      price_bands: params.priceBands,
      max_long: params.maxLong,
      long_sessions: params.longSessions,
      max_short: params.maxShort,
      window: params.window,
      subsample_t: params.subsampleT,
      negatives: params.negatives,
      neg_power: params.negPower,
      cf_top_k: params.cfTopK,
    };
    const stageSeconds: Record<string, number> = {};
    for (const stage of FEATURE_STAGES) {
      const s0 = Date.now();
      await runSqlFile(db.connection, `features/${stage}`, sqlParams);
      stageSeconds[stage] = (Date.now() - s0) / 1000;
      progress(stage, stageSeconds[stage]);
    }
    const rows = Object.fromEntries((await runSqlFile(db.connection, 'features/07_summary')).map((r) => [String(r.table_name), Number(r.n)]));
    const [p] = await runSqlFile(db.connection, 'features/periods');
    await db.connection.run('DETACH src');
    await db.connection.run('CHECKPOINT');
    db.close();
    rmSync(target, { force: true });
    renameSync(tmp, target);
    ok = true;
    const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : String(v));
    return {
      stageSeconds,
      rows,
      periods: { dataStart: iso(p?.data_start), trainEnd: iso(p?.train_end), validEnd: iso(p?.valid_end), dataEnd: iso(p?.data_end) },
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    if (!ok) discardDatabase(db, tmp);
  }
}
