import { evaluateHeldOut, predictNaiveBayes, trainNaiveBayes, type HeldOutEvaluation } from './categoryClassifier';
import { clusterCategories } from './categoryClusters';
import { canonicalFormCategory, type CategorySynonyms } from './formCategories';

/**
 * Every item's coarse category. The listing form's category is kept as given (normalised, synonyms
 * applied): the category set is whatever the data holds. Only items without one get a derived
 * category — from a naive Bayes classifier trained on the items that have one, or, when the data
 * has (almost) no form categories, from clusters of the items' tags. Never "the most common
 * category": an item nothing can be said about stays without one (source `none`).
 */

export type CategorySource = 'form' | 'classifier' | 'visual' | 'cluster' | 'none';

/**
 * The category written for an item nothing can be said about (source `none`): a value of its own,
 * so the item is still indexed and retrieved, never folded into some other category.
 */
export const UNCATEGORISED = 'uncategorised';

export interface CategoryChoice {
  category: string;
  source: CategorySource;
}

export interface CategoryItem {
  itemId: string;
  formCategory: string | null;
  /** What the classifier reads: informative tags and title tokens (`token:` prefixed). */
  features: string[];
  /** What clustering reads: informative tags (sizes and dates are dropped there, see clusterBag). */
  tags: string[];
}

export interface CategoryParams {
  seed: number;
  heldOutShare: number;
  /** 0 = defaultClusterCount. */
  clusters: number;
}

/** Fewer labelled items than this (or a single category among them) cannot train a classifier worth trusting. */
export const MIN_LABELLED_FOR_CLASSIFIER = 20;
/** Laplace smoothing: the textbook default; the classifier is not tuned per dataset. */
const SMOOTHING = 1;

export interface CategoryReport {
  /** How items without a form category got theirs: classifier, cluster, or none needed / possible. */
  method: 'classifier' | 'cluster' | 'form_only' | 'none';
  reason: string;
  /** Distinct categories over all items. */
  count: number;
  /** Distinct form categories (after normalisation and synonyms). */
  formCategories: number;
  bySource: Record<string, number>;
  labelled: number;
  unlabelled: number;
  /** Held-out evaluation of the classifier on labelled items (null when there are too few). */
  classifier: (HeldOutEvaluation & { smoothing: number }) | null;
  /** Number of clusters when clustering named categories, else 0. */
  clusters: number;
  /** The clusters' sizes and most telling tags (clustering only). */
  clusterSummary: { category: string; items: number; topTags: string[] }[];
  /** The largest categories, for a look at what the data calls its categories. */
  largest: { category: string; items: number }[];
}

export function assignCategories(items: readonly CategoryItem[], synonyms: CategorySynonyms, params: CategoryParams): { choices: (CategoryChoice | undefined)[]; report: CategoryReport } {
  const choices: (CategoryChoice | undefined)[] = items.map((it) => {
    const form = canonicalFormCategory(it.formCategory, synonyms);
    return form === undefined ? undefined : { category: form, source: 'form' };
  });
  const labelled = items.map((_, i) => i).filter((i) => choices[i] !== undefined);
  const unlabelled = items.map((_, i) => i).filter((i) => choices[i] === undefined);
  const labels = labelled.map((i) => (choices[i] as CategoryChoice).category);
  const formCategories = new Set(labels).size;

  let classifier: CategoryReport['classifier'] = null;
  let method: CategoryReport['method'] = unlabelled.length === 0 ? 'form_only' : 'none';
  let reason = unlabelled.length === 0 ? 'every item has a form category' : '';
  let clusters = 0;
  let clusterSummary: CategoryReport['clusterSummary'] = [];

  if (labelled.length >= MIN_LABELLED_FOR_CLASSIFIER && formCategories >= 2) {
    // Measured even when every item has a form category: it tells how well titles predict categories.
    classifier = {
      ...evaluateHeldOut(
        labelled.map((i) => (items[i] as CategoryItem).itemId),
        labelled.map((i) => (items[i] as CategoryItem).features),
        labels,
        params.heldOutShare,
        params.seed,
        SMOOTHING,
      ),
      smoothing: SMOOTHING,
    };
  }

  if (unlabelled.length > 0) {
    const beatsPrior = classifier !== null && classifier.accuracy !== null && classifier.majorityBaseline !== null && classifier.accuracy > classifier.majorityBaseline;
    if (beatsPrior) {
      // The figure above comes from a model that never saw the held-out items; the predictions from one trained on all of them.
      const model = trainNaiveBayes(
        labelled.map((i) => (items[i] as CategoryItem).features),
        labels,
        SMOOTHING,
      );
      for (const i of unlabelled) {
        const p = predictNaiveBayes(model, (items[i] as CategoryItem).features);
        if (!p) continue;
        // Only the image said anything: the prediction is the visual cluster's, and the source says so.
        const source: CategorySource = p.known.every((f) => f.startsWith('visual:')) ? 'visual' : 'classifier';
        choices[i] = { category: p.category, source };
      }
      method = 'classifier';
      reason = `naive Bayes trained on ${labelled.length} items with a form category (held-out accuracy ${pct(classifier?.accuracy)} vs ${pct(classifier?.majorityBaseline)} for the most common category)`;
    } else {
      const ids = unlabelled.map((i) => (items[i] as CategoryItem).itemId);
      const bags = unlabelled.map((i) => clusterBag((items[i] as CategoryItem).tags));
      const result = clusterCategories(ids, bags, params.clusters, params.seed);
      unlabelled.forEach((item, j) => {
        const c = result.assignment[j] as number;
        if (c >= 0) choices[item] = { category: result.names[c] as string, source: 'cluster' };
      });
      clusters = result.k;
      clusterSummary = result.clusters;
      method = result.k > 0 ? 'cluster' : 'none';
      const why =
        labelled.length === 0
          ? 'no item has a form category'
          : classifier === null
            ? `only ${labelled.length} items with ${formCategories} form categor${formCategories === 1 ? 'y' : 'ies'}, too few to train on`
            : `the classifier does not beat the most common category on held-out items (${pct(classifier.accuracy)} vs ${pct(classifier.majorityBaseline)})`;
      reason = result.k > 0 ? `${why}: ${result.k} clusters of the items' tags` : `${why}, and too few tagged items to cluster`;
    }
  }

  const bySource: Record<string, number> = {};
  const sizes = new Map<string, number>();
  for (const c of choices) {
    const source = c?.source ?? 'none';
    bySource[source] = (bySource[source] ?? 0) + 1;
    if (c) sizes.set(c.category, (sizes.get(c.category) ?? 0) + 1);
  }
  const largest = [...sizes.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, 10)
    .map(([category, n]) => ({ category, items: n }));
  return {
    choices,
    report: { method, reason, count: sizes.size, formCategories, bySource, labelled: labelled.length, unlabelled: unlabelled.length, classifier, clusters, clusterSummary, largest },
  };
}

/**
 * The tags a cluster is made of. A size or a date says how big or how old an item is, not what it is:
 * as cluster features they split one kind of item by size (shampoo in 250 ml and in 500 ml bottles
 * became two "categories" of an Amazon beauty catalogue). The classifier keeps them: it learns how
 * much they say from the labels.
 */
export function clusterBag(tags: readonly string[]): string[] {
  return tags.filter((t) => !/^(measure|year|decade):/.test(t));
}

function pct(x: number | null | undefined): string {
  return x === null || x === undefined ? 'n/a' : `${(100 * x).toFixed(1)}%`;
}
