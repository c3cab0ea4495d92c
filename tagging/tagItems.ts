import { renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { FLOAT, LIST, VARCHAR, type DuckDBAppender } from '@duckdb/node-api';
import { attachDatabase, openDatabase, runSqlFile, discardDatabase } from '../platform/duckdb';
import { kmeans } from '../platform/faiss';
import { EntityRecognizer, normalizeTitle, type Entity } from './entityRecognizer';
import { loadLexicon, type Lexicon } from './lexicon';
import { DEFAULT_MINING, mineTags, type MiningParams } from './tagMining';
import { Tokenizer } from './tokenizer';

/**
 * The tagging stage: every item's title becomes entities (dictionary + rules), tokens and mined
 * phrase tags; image embeddings become visual tags (Faiss k-means clusters); every item gets a
 * coarse category (the listing form's, else derived from its tags, else from its visual cluster).
 * Output: the `tags` vocabulary and `item_tags(item_id, tag_id, source, weight)`, plus the entities,
 * tokens and categories behind them.
 */

export interface TaggingParams {
  seed: number;
  /** Visual clusters; 0 = derived from the number of items with an image embedding. */
  visualClusters: number;
  mining: MiningParams;
}

export const DEFAULT_TAGGING: TaggingParams = { seed: 7, visualClusters: 0, mining: DEFAULT_MINING };

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
}

interface ItemRow {
  itemId: string;
  title: string;
  formCategory: string | null;
  image: number[] | null;
}

/** Category weights per entity type: what an object is says more about its category than its motif. */
const CATEGORY_VOTE: Record<string, number> = { object: 2, material: 1.5, craft: 1, maker: 1, motif: 0.5, place: 0.75, era: 0.25, jargon: 0.25 };

/** Log-scale bucket of a measurement, so items of similar size share a tag. */
export function measurementBucket(id: string): string | undefined {
  const m = /^([a-z]+):([\d.]+)(?:x[\d.]+)?([a-z]+)$/.exec(id);
  if (!m) return undefined;
  const v = Number(m[2]);
  if (!(v > 0)) return undefined;
  const lo = Math.pow(2, Math.floor(Math.log2(v)));
  return `measure:${m[1]}:${lo}-${lo * 2}${m[3]}`;
}

export async function tagItems(
  datasetDb: string,
  out: string,
  params: TaggingParams = DEFAULT_TAGGING,
  lex: Lexicon = loadLexicon(),
  progress: (m: string) => void = () => {},
): Promise<TaggingReport> {
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
    const entities: Entity[][] = items.map((it) => recognizer.recognize(it.title));
    const tokens: string[][] = items.map((it) => tokenizer.tokenize(it.title));
    // Phrases are mined within the stretches between measurements and makers' marks, so a size or a
    // name glued to its neighbours ("厘米丁禅", "x18cm") never becomes a phrase.
    const segments: string[][][] = items.map((it, i) => miningSegments(it.title, entities[i] ?? [], tokenizer));
    const textSeconds = (Date.now() - tText) / 1000;
    const mined = mineTags(segments.flat(), new Set(lex.zhSurface.keys()), params.mining);
    progress(`entities and tokens in ${textSeconds.toFixed(1)} s; ${mined.length} mined phrase tags`);

    const visual = visualTags(items, params);
    progress(`visual tags: ${visual.k} clusters over ${visual.assigned} image embeddings`);
    const categories = assignCategories(items, entities, visual.assignment, lex);

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
    const minedByKey = new Map(mined.map((m) => [m.tokens.join(' '), m]));
    const itemTags: { itemId: string; tagId: number; source: string; weight: number }[] = [];
    items.forEach((it, i) => {
      const seen = new Set<number>();
      const add = (tag: string, type: string, source: string, weight: number) => {
        const t = tagOf(tag, type, source);
        if (seen.has(t.id)) return;
        seen.add(t.id);
        t.count++;
        itemTags.push({ itemId: it.itemId, tagId: t.id, source, weight });
      };
      for (const e of entities[i] ?? []) {
        if (e.type === 'measurement') {
          const bucket = measurementBucket(e.id);
          if (bucket) add(bucket, 'measurement', 'rule', 0.5);
        } else {
          add(e.id, e.type, e.type === 'maker' && e.id.startsWith('maker.new.') ? 'rule' : 'dictionary', 1);
        }
      }
      for (const toks of segments[i] ?? []) {
        for (let n = 1; n <= params.mining.maxN; n++) {
          for (let s = 0; s + n <= toks.length; s++) {
            const m = minedByKey.get(toks.slice(s, s + n).join(' '));
            if (m) add(`mined:${m.phrase}`, 'phrase', 'mined', 0.5);
          }
        }
      }
      const v = visual.assignment[i];
      if (v !== undefined && v >= 0) add(`visual:${v}`, 'visual', 'visual', 1);
      const c = categories[i];
      if (c) add(`category:${c.category}`, 'category', `category_${c.source}`, 1);
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
        a.appendVarchar(c?.category ?? '');
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
    return {
      items: items.length,
      tags: tagIds.size,
      tagsBySource: count(tagList, (t) => t.source),
      entitiesByType: count(entities.flat(), (e) => e.type),
      categoryBySource: count(categories, (c) => c?.source ?? 'none'),
      visualClusters: visual.k,
      minedTags: mined.length,
      titlesPerSecond: items.length / Math.max(1e-3, textSeconds),
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    if (!ok) discardDatabase(db, tmp);
  }
}

/** Token runs of a title between its measurement and maker spans, without tokens holding digits. */
function miningSegments(title: string, entities: Entity[], tokenizer: Tokenizer): string[][] {
  const text = normalizeTitle(title);
  const cuts = entities.filter((e) => e.type === 'measurement' || e.type === 'maker').sort((a, b) => a.start - b.start);
  const pieces: string[] = [];
  let at = 0;
  for (const e of cuts) {
    if (e.start > at) pieces.push(text.slice(at, e.start));
    at = Math.max(at, e.end);
  }
  pieces.push(text.slice(at));
  return pieces.map((p) => tokenizer.tokenize(p).filter((t) => !/\d/.test(t))).filter((t) => t.length > 0);
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

interface CategoryChoice {
  category: string;
  source: 'form' | 'tags' | 'visual' | 'fallback';
}

function assignCategories(items: ItemRow[], entities: Entity[][], visual: Int32Array, lex: Lexicon): (CategoryChoice | undefined)[] {
  const byName = new Map<string, string>();
  for (const c of lex.categories) for (const n of [c.code, c.zh, c.en]) byName.set(n.toLowerCase(), c.code);
  const out: (CategoryChoice | undefined)[] = items.map((it, i) => {
    const form = it.formCategory ? byName.get(it.formCategory.trim().toLowerCase()) : undefined;
    if (form) return { category: form, source: 'form' };
    const votes = new Map<string, number>();
    for (const e of entities[i] ?? []) {
      const term = lex.byId.get(e.id);
      const cats = term?.categories ?? [];
      if (cats.length === 0) continue;
      const w = (CATEGORY_VOTE[e.type] ?? 0.5) / cats.length;
      for (const c of cats) votes.set(c, (votes.get(c) ?? 0) + w);
    }
    let best: string | undefined;
    let bestScore = 0;
    for (const [c, s] of votes) if (s > bestScore || (s === bestScore && best !== undefined && c < best)) [best, bestScore] = [c, s];
    return best ? { category: best, source: 'tags' } : undefined;
  });
  // Items whose title says nothing about the category: the majority category of their visual cluster.
  const clusterVotes = new Map<number, Map<string, number>>();
  out.forEach((c, i) => {
    const v = visual[i] ?? -1;
    if (!c || v < 0) return;
    const m = clusterVotes.get(v) ?? new Map<string, number>();
    m.set(c.category, (m.get(c.category) ?? 0) + 1);
    clusterVotes.set(v, m);
  });
  const overall = new Map<string, number>();
  for (const c of out) if (c) overall.set(c.category, (overall.get(c.category) ?? 0) + 1);
  const mostCommon = [...overall.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? lex.categories[0]?.code ?? 'unknown';
  return out.map((c, i) => {
    if (c) return c;
    const votes = clusterVotes.get(visual[i] ?? -1);
    const top = votes ? [...votes.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] : undefined;
    return top ? { category: top, source: 'visual' } : { category: mostCommon, source: 'fallback' };
  });
}
