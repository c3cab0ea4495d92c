import type { EvaluationReport } from '../stages/evaluationStage';
import type { MethodMetrics } from './userEval';

/** MLflow's names for a method's ranking metrics, and the evaluation fields they come from. */
const RANKING_FIELDS = {
  recall_at_20: 'recall_at_20',
  recall_at_50: 'recall_at_50',
  hitrate_at_20: 'hit_rate_at_20',
  hitrate_at_50: 'hit_rate_at_50',
  ndcg_at_20: 'ndcg_at_20',
  ndcg_at_50: 'ndcg_at_50',
  coverage_at_50: 'category_coverage_at_50',
  diversity_at_50: 'intra_list_diversity_at_50',
} as const satisfies Record<string, keyof MethodMetrics>;

const RANKING_NAMES = Object.keys(RANKING_FIELDS) as (keyof typeof RANKING_FIELDS)[];

export function rankingMetrics(m: MethodMetrics, prefix = ''): Record<string, number> {
  return Object.fromEntries(RANKING_NAMES.map((name) => [`${prefix}${name}`, m[RANKING_FIELDS[name]]]));
}

/**
 * Every metric `headlineMetrics` can produce, plus the A/B's lifts: what a registry's primary metric
 * may be, so a misspelt one is refused when the retrain is validated instead of at registration.
 */
export const PRIMARY_METRICS: readonly string[] = [
  ...RANKING_NAMES.map((n) => `next_session_${n}`),
  ...RANKING_NAMES.map((n) => `comirec_${n}`),
  ...RANKING_NAMES.map((n) => `next_session_${n}_over_item_cf`),
  'ctr_lift',
  'replay_lift',
];

/**
 * The registry's headline metrics of a retrain: the chosen model under both protocols
 * (`next_session_*`, `comirec_*`) and, for comparisons across datasets, each next-session metric
 * relative to item-CF's on the same sessions (`next_session_*_over_item_cf`).
 */
export function headlineMetrics(e: EvaluationReport): Record<string, number> {
  const pick = (ms: readonly MethodMetrics[], method: string) => ms.find((m) => m.method === method);
  const mi = pick(e.nextSession.test.methods, 'multi_interest');
  const cf = pick(e.nextSession.test.methods, 'item_cf');
  const comirec = pick(e.comirec.methods, 'multi_interest');
  const out: Record<string, number> = {
    ...(mi ? rankingMetrics(mi, 'next_session_') : {}),
    ...(comirec ? rankingMetrics(comirec, 'comirec_') : {}),
  };
  if (mi && cf) {
    const base = rankingMetrics(cf, 'next_session_');
    for (const [k, v] of Object.entries(rankingMetrics(mi, 'next_session_'))) {
      const b = base[k];
      if (b !== undefined && b > 0) out[`${k}_over_item_cf`] = v / b;
    }
  }
  return out;
}
