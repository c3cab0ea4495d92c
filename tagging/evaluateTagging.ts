import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openDatabase, runSqlFile } from '../platform/duckdb';

/** Entity types the data issue's targets apply to (precision and recall at least 0.9 each). */
export const EVALUATED_TYPES = ['object', 'material', 'era', 'craft', 'measurement', 'maker'] as const;

export interface TypeScore {
  type: string;
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface TaggingEvaluation {
  byType: TypeScore[];
  /** By category source; purity also scores categories without a truth name (clusters), see evaluate_category.sql. */
  categoryAccuracy: { source: string; items: number; accuracy: number; purity: number }[];
}

/** Compares a tagging database with a synthetic dataset's truth/items.parquet. */
export async function evaluateTagging(tagsDb: string, datasetDir: string): Promise<TaggingEvaluation> {
  const truthItems = join(resolve(datasetDir), 'truth', 'items.parquet');
  if (!existsSync(truthItems)) {
    throw new Error(`${truthItems} not found: tagging can only be measured on a synthetic dataset (curio generate writes truth/)`);
  }
  const db = await openDatabase(resolve(tagsDb), { access_mode: 'READ_ONLY' });
  try {
    const byType = (await runSqlFile(db.connection, 'tagging/evaluate', { truth_items: truthItems })).map((r) => {
      const tp = Number(r.tp);
      const fp = Number(r.fp);
      const fn = Number(r.fn);
      const precision = tp + fp > 0 ? tp / (tp + fp) : 1;
      const recall = tp + fn > 0 ? tp / (tp + fn) : 1;
      return { type: String(r.type), tp, fp, fn, precision, recall, f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0 };
    });
    const categoryAccuracy = (await runSqlFile(db.connection, 'tagging/evaluate_category', { truth_items: truthItems })).map((r) => ({
      source: r.source === null ? 'all' : String(r.source),
      items: Number(r.items),
      accuracy: Number(r.accuracy),
      purity: Number(r.purity),
    }));
    return { byType, categoryAccuracy };
  } finally {
    db.close();
  }
}
