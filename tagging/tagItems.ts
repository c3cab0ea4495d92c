import { renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { zho as chineseStopWordList } from 'stopword';
import { FLOAT, LIST, VARCHAR, type DuckDBAppender } from '@duckdb/node-api';
import { z } from 'zod';
import { attachDatabase, openDatabase, runSqlFile, discardDatabase } from '../platform/duckdb';
import { nonNegativeInt, nonNegativeNumber, oneOf, parseConfig, positiveInt, section } from '../platform/schema';
import { kmeans } from '../platform/faiss';
import { assignCategories, UNCATEGORISED, type CategoryItem, type CategoryReport } from './assignCategories';
import { EntityRecognizer, normalizeTitle, type Entity } from './entityRecognizer';
import { buildCategorySynonyms } from './formCategories';
import { isLatinStopWord } from './latinAnalyzer';
import { loadLexicon, type Lexicon } from './lexicon';
import { decideLexiconScope, entitiesInScope, LEXICON_SCOPE_MODES, type LexiconScope, type LexiconScopeMode } from './lexiconScope';
import { DEFAULT_MINING, mineTagsDetailed, type DropReason, type MiningParams } from './tagMining';
import { Tokenizer } from './tokenizer';
import { miningSegments, titleTags, yearsOutside, type PendingTag } from './titleTags';
import type { YearMatch } from './years';

/**
 * The tagging stage: every item's title becomes entities (dictionary + rules), tokens and mined
 * phrase tags; image embeddings become visual tags (Faiss k-means clusters); every item gets a
 * coarse category (the listing form's as given, else a classifier's trained on the items that have
 * one, else a cluster of similar items). The cultural-artifact lexicon is applied only to datasets it
 * covers (tagging/lexiconScope.ts). Output: the `tags` vocabulary and
 * `item_tags(item_id, tag_id, source, weight)`, plus the entities, tokens and categories behind them.
 */

export interface TaggingParams {
  seed: number;
  /** Visual clusters; 0 = derived from the number of items with an image embedding. */
  visualClusters: number;
  mining: MiningParams;
  /** 'auto': the lexicon applies when its coverage of the titles reaches lexiconMinCoverage; 'on'/'off' force it. */
  lexiconScope: LexiconScopeMode;
  /** Share of titles that must name lexicon entities of ≥ 2 types for the lexicon to apply (see lexiconScope.ts). */
  lexiconMinCoverage: number;
  /**
   * Form-category synonyms, [raw, canonical] pairs (a list, not an object, so the Start Workflow
   * form's overrides can hold any name); canonical '' marks a placeholder meaning "no category".
   */
  categorySynonyms: [string, string][];
  /** Share of labelled items held out to measure the category classifier. */
  categoryHeldOutShare: number;
  /** Clusters when categories must be derived without labels; 0 = about √(items/10), 8 to 64. */
  categoryClusters: number;
}

export const DEFAULT_TAGGING: TaggingParams = {
  seed: 7,
  visualClusters: 0,
  mining: DEFAULT_MINING,
  lexiconScope: 'auto',
  lexiconMinCoverage: 0.25,
  categorySynonyms: [],
  categoryHeldOutShare: 0.15,
  categoryClusters: 0,
};

const MiningSchema = section<MiningParams>(
  {
    minCount: positiveInt(),
    minPmi: z.number({ error: 'must be a number' }),
    minBoundaryEntropy: nonNegativeNumber(),
    maxN: positiveInt(),
    maxItemShare: z.number().gt(0, { error: 'must be in (0, 1]' }).max(1, { error: 'must be in (0, 1]' }),
  },
  DEFAULT_MINING,
);

export const TaggingSchema = section<TaggingParams>(
  {
    seed: z.int({ error: 'must be an integer' }),
    visualClusters: nonNegativeInt(),
    mining: MiningSchema,
    lexiconScope: oneOf(LEXICON_SCOPE_MODES),
    lexiconMinCoverage: z.number().min(0, { error: 'must be in [0, 1]' }).max(1, { error: 'must be in [0, 1]' }),
    categorySynonyms: z.array(z.tuple([z.string(), z.string()]), { error: 'must be a list of [raw, canonical] string pairs' }),
    categoryHeldOutShare: z.number().gt(0, { error: 'must be in (0, 1)' }).lt(1, { error: 'must be in (0, 1)' }),
    categoryClusters: nonNegativeInt(),
  },
  DEFAULT_TAGGING,
);

/** Fills what an older settings object lacks and rejects what tagging cannot run with (non-retryable ConfigError). */
export function validateTaggingParams(p: TaggingParams): TaggingParams {
  return parseConfig('tagging', TaggingSchema, p);
}

export interface TaggingReport {
  items: number;
  tags: number;
  tagsBySource: Record<string, number>;
  entitiesByType: Record<string, number>;
  categoryBySource: Record<string, number>;
  visualClusters: number;
  minedTags: number;
  titlesPerSecond: number;
  seconds: number;
  /** Tags other than the category tag, per item. */
  informativeTags: { perItem: number; shareWithAtLeastThree: number; itemsWithNone: number };
  /** The most frequent mined tags, with the number of items carrying each. */
  topMinedTags: { tag: string; items: number }[];
  /** Mining candidates (frequent enough) that were not kept, by reason. */
  minedDropped: Record<DropReason, number>;
  lexicon: LexiconScope;
  categories: CategoryReport;
}

interface ItemRow {
  itemId: string;
  title: string;
  formCategory: string | null;
  image: number[] | null;
}

export { measurementBucket } from './titleTags';

const CHINESE_STOP_WORDS: ReadonlySet<string> = new Set(chineseStopWordList);
/**
 * Units left behind by a measurement the rules could not read ("16 Inch Plush": an unlabelled
 * length): without their number they say nothing, and as a phrase's edge they glue it to noise.
 */
const UNIT_WORDS: ReadonlySet<string> = new Set(['cm', 'mm', 'ml', 'g', 'kg', 'oz', 'fl', 'ounce', 'inch', 'lb', 'pound', 'liter', 'litre', 'pc', 'pcs', '厘米', '毫米', '公分', '毫升', '克']);
/** Stop words of either script and unit words: never a mined tag, nor a mined phrase's first or last word. */
function isStopWord(token: string): boolean {
  return isLatinStopWord(token) || CHINESE_STOP_WORDS.has(token) || UNIT_WORDS.has(token);
}

export async function tagCatalogue(
  datasetDb: string,
  out: string,
  given: TaggingParams = DEFAULT_TAGGING,
  lex: Lexicon = loadLexicon(),
  progress: (m: string) => void = () => {},
): Promise<TaggingReport> {
  // Settings resolved before a field existed (a workflow started on an older version and retried) get its default.
  const params = validateTaggingParams(given);
  const t0 = Date.now();
  const target = resolve(out);
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}`);
  rmSync(tmp, { force: true });
  const db = await openDatabase(tmp);
  let ok = false;
  try {
    const conn = db.connection;
    await attachDatabase(conn, resolve(datasetDb), 'src');
    const items: ItemRow[] = (await runSqlFile(conn, 'tagging/read_items')).map((r) => ({
      itemId: String(r.item_id),
      title: String(r.title),
      formCategory: r.category === null || r.category === undefined ? null : String(r.category),
      image: Array.isArray(r.image_embedding) ? (r.image_embedding as number[]) : null,
    }));
    progress(`tagging ${items.length} titles`);

    const recognizer = new EntityRecognizer(lex);
    const tokenizer = new Tokenizer(lex);
    const tText = Date.now();
    const recognised: Entity[][] = items.map((it) => recognizer.recognize(it.title));
    const scope = decideLexiconScope(recognised, params.lexiconScope, params.lexiconMinCoverage);
    progress(`lexicon ${scope.inScope ? 'in scope' : 'out of scope'}: ${scope.reason}`);
    const entities: Entity[][] = recognised.map((es) => entitiesInScope(es, scope));
    const tokens: string[][] = items.map((it) => tokenizer.tokenize(it.title));
    const years: YearMatch[][] = items.map((it, i) => yearsOutside(normalizeTitle(it.title), entities[i] ?? []));
    // Phrases are mined within the stretches between measurements, years and makers' marks, so a
    // size or a name glued to its neighbours ("厘米丁禅", "x18cm") never becomes a phrase.
    const segments: string[][][] = items.map((it, i) => miningSegments(it.title, entities[i] ?? [], years[i] ?? [], tokenizer));
    const textSeconds = (Date.now() - tText) / 1000;
    const itemOfDoc = segments.flatMap((segs, i) => segs.map(() => i));
    // In scope, the dictionary's own words are entities already; outside it they are words like any other.
    const known = scope.inScope ? new Set([...lex.zhSurface.keys(), ...lex.enSurface.keys()]) : new Set<string>();
    const mining = mineTagsDetailed(segments.flat(), known, params.mining, { itemOfDoc, stopWords: isStopWord });
    const mined = mining.tags;
    progress(`entities and tokens in ${textSeconds.toFixed(1)} s; ${mined.length} mined phrase tags`);

    const visual = visualTags(items, params);
    progress(`visual tags: ${visual.k} clusters over ${visual.assigned} image embeddings`);

    // Each item's tags before its category: the category is derived from them.
    const minedByKey = new Map(mined.map((m) => [m.tokens.join(' '), m]));
    const pending: PendingTag[][] = items.map((_, i) => {
      const list = titleTags({ entities: entities[i] ?? [], years: years[i] ?? [], segments: segments[i] ?? [] }, minedByKey, params.mining.maxN);
      const v = visual.assignment[i];
      if (v !== undefined && v >= 0 && !list.some((t) => t.tag === `visual:${v}`)) list.push({ tag: `visual:${v}`, type: 'visual', source: 'visual', weight: 1 });
      return list;
    });

    const synonyms = buildCategorySynonyms(params.categorySynonyms, scope.inScope ? lex : undefined);
    const categoryItems: CategoryItem[] = items.map((it, i) => {
      const tags = (pending[i] ?? []).map((t) => t.tag);
      return { itemId: it.itemId, formCategory: it.formCategory, tags, features: [...tags, ...(tokens[i] ?? []).map((t) => `token:${t}`)] };
    });
    const { choices: categories, report: categoryReport } = assignCategories(categoryItems, synonyms, {
      seed: params.seed,
      heldOutShare: params.categoryHeldOutShare,
      clusters: params.categoryClusters,
    });
    progress(`categories: ${categoryReport.count} (${categoryReport.method}: ${categoryReport.reason})`);

    // Vocabulary and item_tags.
    const tagIds = new Map<string, { id: number; type: string; source: string; count: number }>();
    const tagOf = (tag: string, type: string, source: string) => {
      let t = tagIds.get(tag);
      if (!t) {
        t = { id: tagIds.size, type, source, count: 0 };
        tagIds.set(tag, t);
      }
      return t;
    };
    const itemTags: { itemId: string; tagId: number; source: string; weight: number }[] = [];
    let withThree = 0;
    let withNone = 0;
    let informativeTotal = 0;
    items.forEach((it, i) => {
      const list = pending[i] ?? [];
      informativeTotal += list.length;
      if (list.length >= 3) withThree++;
      if (list.length === 0) withNone++;
      const c = categories[i];
      const all = c ? [...list, { tag: `category:${c.category}`, type: 'category', source: `category_${c.source}`, weight: 1 }] : list;
      for (const p of all) {
        const t = tagOf(p.tag, p.type, p.source);
        t.count++;
        itemTags.push({ itemId: it.itemId, tagId: t.id, source: p.source, weight: p.weight });
      }
    });

    await runSqlFile(conn, 'tagging/create_tables');
    await append(conn, 'tags', (a) => {
      for (const [tag, t] of tagIds) {
        a.appendInteger(t.id);
        a.appendVarchar(tag);
        a.appendVarchar(t.type);
        a.appendVarchar(t.source);
        a.appendInteger(t.count);
        a.endRow();
      }
    });
    await append(conn, 'item_tags', (a) => {
      for (const r of itemTags) {
        a.appendVarchar(r.itemId);
        a.appendInteger(r.tagId);
        a.appendVarchar(r.source);
        a.appendFloat(r.weight);
        a.endRow();
      }
    });
    await append(conn, 'item_entities', (a) => {
      items.forEach((it, i) => {
        for (const e of entities[i] ?? []) {
          a.appendVarchar(it.itemId);
          a.appendVarchar(e.type);
          a.appendVarchar(e.id);
          a.appendVarchar(e.surface);
          a.appendInteger(e.start);
          a.appendInteger(e.end);
          a.endRow();
        }
      });
    });
    await append(conn, 'item_tokens', (a) => {
      items.forEach((it, i) => {
        a.appendVarchar(it.itemId);
        a.appendList(tokens[i] ?? [], LIST(VARCHAR));
        a.endRow();
      });
    });
    await append(conn, 'item_category', (a) => {
      items.forEach((it, i) => {
        const c = categories[i];
        a.appendVarchar(it.itemId);
        a.appendVarchar(c?.category ?? UNCATEGORISED);
        a.appendVarchar(c?.source ?? 'none');
        a.appendInteger(visual.assignment[i] ?? -1);
        a.endRow();
      });
    });
    await append(conn, 'mined_tags', (a) => {
      for (const m of mined) {
        a.appendVarchar(m.phrase);
        a.appendList(m.tokens, LIST(VARCHAR));
        a.appendInteger(m.count);
        a.appendDouble(m.pmi);
        a.appendDouble(m.leftEntropy);
        a.appendDouble(m.rightEntropy);
        a.appendInteger(m.items);
        a.endRow();
      }
    });
    await append(conn, 'visual_centroids', (a) => {
      for (let c = 0; c < visual.k; c++) {
        a.appendInteger(c);
        a.appendList(Array.from(visual.centroids.subarray(c * visual.dim, (c + 1) * visual.dim)), LIST(FLOAT));
        a.endRow();
      }
    });
    await conn.run('DETACH src');
    await conn.run('CHECKPOINT');
    db.close();
    rmSync(target, { force: true });
    renameSync(tmp, target);
    ok = true;

    const count = <T>(xs: T[], key: (x: T) => string) =>
      xs.reduce<Record<string, number>>((acc, x) => ((acc[key(x)] = (acc[key(x)] ?? 0) + 1), acc), {});
    const tagList = [...tagIds.values()];
    const n = Math.max(1, items.length);
    return {
      items: items.length,
      tags: tagIds.size,
      tagsBySource: count(tagList, (t) => t.source),
      entitiesByType: count(entities.flat(), (e) => e.type),
      categoryBySource: categoryReport.bySource,
      visualClusters: visual.k,
      minedTags: mined.length,
      titlesPerSecond: items.length / Math.max(1e-3, textSeconds),
      seconds: (Date.now() - t0) / 1000,
      informativeTags: { perItem: informativeTotal / n, shareWithAtLeastThree: withThree / n, itemsWithNone: withNone },
      topMinedTags: [...mined]
        .sort((a, b) => b.items - a.items || a.phrase.localeCompare(b.phrase))
        .slice(0, 20)
        .map((m) => ({ tag: m.phrase, items: m.items })),
      minedDropped: mining.dropped,
      lexicon: scope,
      categories: categoryReport,
    };
  } finally {
    if (!ok) discardDatabase(db, tmp);
  }
}

async function append(conn: Awaited<ReturnType<typeof openDatabase>>['connection'], table: string, fill: (a: DuckDBAppender) => void) {
  const a = await conn.createAppender(table);
  try {
    fill(a);
  } finally {
    a.closeSync();
  }
}

/** Faiss k-means over the items' image embeddings; items without one get no visual tag (-1). */
function visualTags(items: ItemRow[], params: TaggingParams): { k: number; dim: number; assigned: number; assignment: Int32Array; centroids: Float32Array } {
  const withImage = items.map((it, i) => (it.image ? i : -1)).filter((i) => i >= 0);
  const assignment = new Int32Array(items.length).fill(-1);
  const dim = withImage.length > 0 ? (items[withImage[0] as number]?.image?.length ?? 0) : 0;
  if (withImage.length < 32 || dim === 0) return { k: 0, dim, assigned: 0, assignment, centroids: new Float32Array(0) };
  const k = params.visualClusters > 0 ? params.visualClusters : Math.max(8, Math.min(256, Math.round(Math.sqrt(withImage.length) / 1.5)));
  const x = new Float32Array(withImage.length * dim);
  withImage.forEach((idx, row) => x.set(items[idx]?.image ?? [], row * dim));
  const res = kmeans(dim, k, x, { niter: 20, seed: params.seed, spherical: true });
  withImage.forEach((idx, row) => (assignment[idx] = res.assignments[row] ?? -1));
  return { k, dim, assigned: withImage.length, assignment, centroids: res.centroids };
}

/** The report's headline figures as lines for a terminal (curio tagging-eval, scripts). */
export function describeTaggingReport(r: TaggingReport): string[] {
  const pct = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${(100 * x).toFixed(1)}%`);
  const c = r.categories;
  const lines = [
    `lexicon ${r.lexicon.inScope ? 'in scope' : 'out of scope'} (${r.lexicon.mode}): ${r.lexicon.reason}`,
    `informative tags: ${r.informativeTags.perItem.toFixed(1)} per item, ${pct(r.informativeTags.shareWithAtLeastThree)} of items with >= 3, ${r.informativeTags.itemsWithNone} with none`,
    `mined tags: ${r.minedTags}; top: ${r.topMinedTags.map((t) => `${t.tag} (${t.items})`).join(', ')}`,
    `categories: ${c.count} (${Object.entries(c.bySource).map(([k, v]) => `${k} ${v}`).join(', ')}); ${c.method}: ${c.reason}`,
  ];
  if (c.classifier) {
    lines.push(
      `category classifier held-out accuracy ${pct(c.classifier.accuracy)} on ${c.classifier.heldOut} of ${c.classifier.labelled} labelled items (most common category: ${pct(c.classifier.majorityBaseline)}; ${c.classifier.unpredictable} without a known feature)`,
    );
  }
  if (c.clusters > 0) lines.push(`category clusters: ${c.clusterSummary.slice(0, 5).map((k) => `${k.category} ${k.items} [${k.topTags.slice(0, 3).join(', ')}]`).join('; ')} ...`);
  return lines;
}
