import { renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { nonNegativeNumber, parseConfig, positiveInt, positiveNumber, section } from '../platform/schema';
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

const positive = positiveInt;
export const FeatureParamsSchema = section<FeatureParams>(
  {
    seed: z.int({ error: 'must be an integer' }),
    sessionGapMinutes: positive(),
    trainEndFrac: z.number().gt(0, { error: 'must be in (0, 1)' }).lt(1, { error: 'must be in (0, 1)' }),
    validEndFrac: z.number().gt(0, { error: 'must be in (0, 1)' }).lt(1, { error: 'must be in (0, 1)' }),
    validUserFrac: z.number().min(0, { error: 'must be in [0, 1)' }).lt(1, { error: 'must be in [0, 1)' }),
    testUserFrac: z.number().gt(0, { error: 'must be in (0, 1)' }).lt(1, { error: 'must be in (0, 1)' }),
    priceBands: positive(),
    maxLong: positive(),
    longSessions: positive(),
    maxShort: positive(),
    window: positive(),
    subsampleT: positiveNumber(),
    negatives: positive(),
    negPower: nonNegativeNumber(),
    cfTopK: positive(),
  },
  DEFAULT_FEATURE_PARAMS,
)
  .refine((p) => p.trainEndFrac < p.validEndFrac, { error: 'must be below validEndFrac (the train period ends before the valid period)', path: ['trainEndFrac'] })
  .refine((p) => p.validUserFrac + p.testUserFrac < 1, { error: 'plus validUserFrac must stay below 1', path: ['testUserFrac'] });

export function validateFeatureParams(p: FeatureParams): FeatureParams {
  return parseConfig('features', FeatureParamsSchema, p);
}

export const FEATURE_STAGES = ['01_index', '02_sessions', '03_sequences', '04_skipgram', '05_keyword', '06_item_cf'] as const;

export interface FeatureReport {
  stageSeconds: Record<string, number>;
  rows: Record<string, number>;
  periods: { dataStart: string; trainEnd: string; validEnd: string; dataEnd: string };
  seconds: number;
}

/** Runs the feature SQL over a loaded dataset into a new database, atomically. */
export async function runFeatureSql(
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
