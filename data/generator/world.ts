import { termsFor, type Lexicon, type LexiconType, type Term } from '../../tagging/lexicon';
import type { Expertise } from './clickModel';
import { inventMakerName, MAKER_CATEGORIES } from './makerNames';
import { normalize, Rng, WeightedSampler } from './rng';
import type { ScaleSpec } from './scales';
import { composeTitle, TEMPLATE_COUNT, type Lang, type MakerMark, type Measurement, type TitleParts, type TitleStyle, type TruthTerm } from './titles';

/**
 * The hidden world behind the synthetic marketplace: latent interest topics, sellers, users and
 * items. Users, items and the click model share one latent space, so "what a user likes" and "what an
 * item is" are measurable and the A/B simulator can decide clicks on feeds that were never logged.
 */

export const LATENT_DIM = 16;
export const IMAGE_DIM = 32;
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** The longest auction; items listed up to this long before the period are still live at its start. */
export const MAX_AUCTION_MS = 7 * DAY;

/** How much of the market each coarse category holds. */
const CATEGORY_SHARE: Record<string, number> = {
  jade: 0.14, porcelain: 0.12, painting: 0.09, bronze: 0.06, tea: 0.09, coin: 0.1,
  stamp: 0.07, beads: 0.1, zisha: 0.08, wood: 0.06, amber: 0.05, seal: 0.04,
};

/** Measurement phrases each category's titles carry: kind, unit and value range. */
const MEASUREMENTS: Record<string, { kind: Measurement['kind']; unit: Measurement['unit']; lo: number; hi: number; lo2?: number; hi2?: number }[]> = {
  jade: [{ kind: 'length', unit: 'cm', lo: 2, hi: 9 }, { kind: 'weight', unit: 'g', lo: 8, hi: 180 }, { kind: 'diameter', unit: 'mm', lo: 50, hi: 64 }],
  porcelain: [{ kind: 'height', unit: 'cm', lo: 5, hi: 45 }, { kind: 'diameter', unit: 'cm', lo: 8, hi: 35 }],
  painting: [{ kind: 'size', unit: 'cm', lo: 30, hi: 100, lo2: 60, hi2: 200 }],
  bronze: [{ kind: 'height', unit: 'cm', lo: 5, hi: 40 }, { kind: 'weight', unit: 'g', lo: 100, hi: 3000 }],
  tea: [{ kind: 'weight', unit: 'g', lo: 100, hi: 1000 }],
  coin: [{ kind: 'diameter', unit: 'mm', lo: 20, hi: 40 }, { kind: 'weight', unit: 'g', lo: 3, hi: 27 }],
  stamp: [{ kind: 'size', unit: 'cm', lo: 2, hi: 15, lo2: 3, hi2: 20 }],
  beads: [{ kind: 'diameter', unit: 'mm', lo: 6, hi: 20 }, { kind: 'count', unit: 'pcs', lo: 18, hi: 108 }],
  zisha: [{ kind: 'volume', unit: 'ml', lo: 80, hi: 600 }],
  wood: [{ kind: 'length', unit: 'cm', lo: 5, hi: 40 }, { kind: 'height', unit: 'cm', lo: 5, hi: 30 }],
  amber: [{ kind: 'weight', unit: 'g', lo: 5, hi: 80 }, { kind: 'diameter', unit: 'mm', lo: 8, hi: 25 }],
  seal: [{ kind: 'height', unit: 'cm', lo: 3, hi: 12 }, { kind: 'weight', unit: 'g', lo: 20, hi: 400 }],
};
const BEAD_COUNTS = [18, 21, 27, 36, 54, 108];

export interface Topic {
  id: number;
  category: string;
  vector: Float32Array;
  /** Term ids this topic's items usually carry, by type. */
  prefs: Partial<Record<LexiconType, Term[]>>;
  priceMedian: number;
  popularity: number;
}

export interface Seller {
  id: string;
  categories: string[];
  quality: number;
  volume: number;
  style: TitleStyle;
  jargon: Term[];
  makers: MakerMark[];
}

export interface User {
  idx: number;
  id: string;
  expertise: Expertise;
  interests: number[];
  weights: number[];
  activity: number;
  hasSessionIds: boolean;
  searchRate: number;
}

export interface Item {
  idx: number;
  id: string;
  topic: number;
  category: string;
  seller: number;
  latent: Float32Array;
  quality: number;
  listedAt: number;
  endsAt: number;
  startPrice: number;
  formCategory: string | null;
  title: string;
  truth: TruthTerm[];
  image: Float32Array;
}

export interface World {
  start: number;
  end: number;
  topics: Topic[];
  sellers: Seller[];
  users: User[];
  /** Sorted by listing time; idx is the position. */
  items: Item[];
  /** Item indices per topic, in listing order. */
  itemsByTopic: number[][];
  termVectors: Map<string, Float32Array>;
}

export interface WorldOptions {
  scale: ScaleSpec;
  seed: number;
  lang: Lang | 'mixed';
  start: number;
}

export function buildWorld(opts: WorldOptions, lex: Lexicon): World {
  const root = new Rng(opts.seed, 0);
  const end = opts.start + opts.scale.days * DAY;
  const termVectors = new Map<string, Float32Array>();
  const termRng = root.fork(1);
  const termVector = (id: string): Float32Array => {
    let v = termVectors.get(id);
    if (!v) {
      v = termRng.unitVector(LATENT_DIM);
      termVectors.set(id, v);
    }
    return v;
  };
  for (const t of lex.terms) termVector(t.id);

  const topics = buildTopics(opts.scale, lex, root.fork(2));
  const sellers = buildSellers(opts, lex, root.fork(3));
  const items = buildItems(opts, lex, topics, sellers, termVector, root.fork(4), end);
  const users = buildUsers(opts.scale, topics, root.fork(5));
  const itemsByTopic: number[][] = topics.map(() => []);
  for (const it of items) itemsByTopic[it.topic]?.push(it.idx);
  return { start: opts.start, end, topics, sellers, users, items, itemsByTopic, termVectors };
}

function categoryCodes(lex: Lexicon): string[] {
  return lex.categories.map((c) => c.code).filter((c) => (CATEGORY_SHARE[c] ?? 0) > 0);
}

function buildTopics(scale: ScaleSpec, lex: Lexicon, rng: Rng): Topic[] {
  const cats = categoryCodes(lex);
  // At least one topic per category, the rest in proportion to the category's share.
  const counts = new Map(cats.map((c) => [c, 1]));
  const catSampler = new WeightedSampler(cats, cats.map((c) => CATEGORY_SHARE[c] ?? 0));
  for (let i = cats.length; i < scale.topics; i++) {
    const c = catSampler.draw(rng);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  const catVector = new Map(cats.map((c) => [c, rng.unitVector(LATENT_DIM)]));
  const topics: Topic[] = [];
  for (const c of cats) {
    for (let k = 0; k < (counts.get(c) ?? 0); k++) {
      const base = catVector.get(c) as Float32Array;
      const own = rng.unitVector(LATENT_DIM);
      const vector = normalize(base.map((x, i) => 0.55 * x + 0.45 * (own[i] as number)));
      const prefs: Partial<Record<LexiconType, Term[]>> = {};
      const want: [LexiconType, number][] = [['object', 3], ['material', 2], ['era', 2], ['craft', 3], ['motif', 3], ['place', 2]];
      for (const [type, n] of want) {
        const pool = termsFor(lex, type, c);
        if (pool.length === 0) continue;
        prefs[type] = weightedDistinct(pool, n, rng);
      }
      topics.push({
        id: topics.length,
        category: c,
        vector,
        prefs,
        priceMedian: rng.logNormal(800, 0.9),
        popularity: rng.logNormal(1, 0.8),
      });
    }
  }
  return topics;
}

function weightedDistinct(pool: Term[], n: number, rng: Rng): Term[] {
  const chosen: Term[] = [];
  const left = pool.slice();
  while (chosen.length < n && left.length > 0) {
    const s = new WeightedSampler(left, left.map((t) => t.weight));
    const t = s.draw(rng);
    chosen.push(t);
    left.splice(left.indexOf(t), 1);
  }
  return chosen;
}

function buildSellers(opts: WorldOptions, lex: Lexicon, rng: Rng): Seller[] {
  const cats = categoryCodes(lex);
  const catSampler = new WeightedSampler(cats, cats.map((c) => CATEGORY_SHARE[c] ?? 0));
  const jargon = lex.terms.filter((t) => t.type === 'jargon');
  const sellers: Seller[] = [];
  for (let s = 0; s < opts.scale.sellers; s++) {
    const first = catSampler.draw(rng);
    const categories = rng.bool(0.25) ? [...new Set([first, catSampler.draw(rng)])] : [first];
    const lang: Lang = opts.lang === 'mixed' ? (rng.bool(0.15) ? 'en' : 'zh') : opts.lang;
    const sellerJargon = weightedDistinct(
      jargon.filter((t) => t.categories.length === 0 || t.categories.some((c) => categories.includes(c))),
      2 + rng.int(5),
      rng,
    );
    const makers: MakerMark[] = [];
    for (const c of categories) {
      if (!(MAKER_CATEGORIES as readonly string[]).includes(c)) continue;
      const known = lex.makers.filter((m) => m.categories.includes(c));
      for (let k = 0, n = 1 + rng.int(3); k < n; k++) {
        if (known.length > 0 && rng.bool(0.8)) {
          const m = rng.pick(known);
          makers.push({ id: m.id, zh: m.zh, en: m.en });
        } else {
          // A maker the dictionary has never seen: the tagger must find it by rule.
          const name = inventMakerName(rng);
          if (!lex.zhSurface.has(name.zh)) makers.push({ id: `maker.new.${name.slug}`, zh: name.zh, en: name.en });
        }
      }
    }
    sellers.push({
      id: `s${String(s + 1).padStart(6, '0')}`,
      categories,
      quality: rng.beta(3, 2),
      volume: rng.logNormal(1, 1),
      style: {
        lang,
        spaced: rng.bool(0.6),
        template: rng.int(TEMPLATE_COUNT),
        variantRate: rng.uniform(0.1, 0.4),
        typoRate: rng.uniform(0.01, 0.06),
        decorateRate: rng.uniform(0, 0.3),
      },
      jargon: sellerJargon,
      makers,
    });
  }
  return sellers;
}

function buildItems(
  opts: WorldOptions,
  lex: Lexicon,
  topics: Topic[],
  sellers: Seller[],
  termVector: (id: string) => Float32Array,
  rng: Rng,
  end: number,
): Item[] {
  const topicSampler = new WeightedSampler(topics, topics.map((t) => t.popularity));
  const sellersByCategory = new Map<string, WeightedSampler<number>>();
  for (const c of new Set(topics.map((t) => t.category))) {
    let idx = sellers.map((s, i) => (s.categories.includes(c) ? i : -1)).filter((i) => i >= 0);
    if (idx.length === 0) idx = [rng.int(sellers.length)];
    sellersByCategory.set(c, new WeightedSampler(idx, idx.map((i) => (sellers[i] as Seller).volume)));
  }
  const projection = Array.from({ length: IMAGE_DIM }, () => rng.unitVector(LATENT_DIM));
  const catCodes = topics.map((t) => t.category).filter((c, i, a) => a.indexOf(c) === i);
  const from = opts.start - MAX_AUCTION_MS;

  const pools = new TermPools(lex);
  const drafts: Omit<Item, 'idx' | 'id'>[] = [];
  for (let n = 0; n < opts.scale.items; n++) {
    const topic = topicSampler.draw(rng);
    const sellerIdx = (sellersByCategory.get(topic.category) as WeightedSampler<number>).draw(rng);
    const seller = sellers[sellerIdx] as Seller;
    const parts = itemParts(topic, seller, pools, rng);
    const attrs = [parts.object, parts.material, parts.era, parts.motif, parts.place, ...parts.crafts].filter(
      (t): t is Term => t !== undefined,
    );
    const latent = new Float32Array(LATENT_DIM);
    for (let d = 0; d < LATENT_DIM; d++) {
      let x = (topic.vector[d] as number) + 0.25 * rng.normal();
      for (const a of attrs) x += 0.22 * (termVector(a.id)[d] as number);
      latent[d] = x;
    }
    normalize(latent);
    const quality = Math.min(1, Math.max(0, 0.6 * rng.beta(2, 2) + 0.4 * seller.quality + 0.05 * rng.normal()));
    const listedAt = Math.floor(from + rng.next() * (end - from));
    const duration = Math.min(MAX_AUCTION_MS, Math.max(2 * HOUR, rng.logNormal(30 * HOUR, 0.7)));
    const image = new Float32Array(IMAGE_DIM);
    for (let d = 0; d < IMAGE_DIM; d++) {
      let x = 0;
      const p = projection[d] as Float32Array;
      for (let k = 0; k < LATENT_DIM; k++) x += (p[k] as number) * (latent[k] as number);
      image[d] = x + 0.12 * rng.normal();
    }
    normalize(image);
    const { title, truth } = composeTitle(parts, seller.style, lex, rng);
    const formCategory = rng.bool(0.45) ? (rng.bool(0.03) ? rng.pick(catCodes) : topic.category) : null;
    drafts.push({
      topic: topic.id,
      category: topic.category,
      seller: sellerIdx,
      latent,
      quality,
      listedAt,
      endsAt: Math.floor(listedAt + duration),
      startPrice: Math.max(1, Math.round((topic.priceMedian * Math.exp(1.2 * (quality - 0.5)) * rng.logNormal(1, 0.45)) / 10) * 10),
      formCategory,
      title,
      truth,
      image,
    });
  }
  drafts.sort((a, b) => a.listedAt - b.listedAt);
  return drafts.map((d, idx) => ({ ...d, idx, id: `it${String(idx + 1).padStart(7, '0')}` }));
}

/** Weighted samplers over a category's terms of one type, built once per (type, category). */
class TermPools {
  private readonly cache = new Map<string, WeightedSampler<Term> | null>();
  constructor(private readonly lex: Lexicon) {}
  get(type: LexiconType, category: string): WeightedSampler<Term> | null {
    const key = `${type}|${category}`;
    let s = this.cache.get(key);
    if (s === undefined) {
      const pool = termsFor(this.lex, type, category);
      s = pool.length > 0 ? new WeightedSampler(pool, pool.map((t) => t.weight)) : null;
      this.cache.set(key, s);
    }
    return s;
  }
}

function itemParts(topic: Topic, seller: Seller, pools: TermPools, rng: Rng): TitleParts {
  const choose = (type: LexiconType, pPresent: number, pPref: number): Term | undefined => {
    if (!rng.bool(pPresent)) return undefined;
    const prefs = topic.prefs[type] ?? [];
    if (prefs.length > 0 && rng.bool(pPref)) return rng.pick(prefs);
    return pools.get(type, topic.category)?.draw(rng);
  };
  const object = choose('object', 1, 0.85) as Term;
  const craftCount = rng.bool(0.35) ? 0 : rng.bool(0.7) ? 1 : 2;
  const crafts: Term[] = [];
  for (let k = 0; k < craftCount; k++) {
    const c = choose('craft', 1, 0.8);
    if (c && !crafts.includes(c)) crafts.push(c);
  }
  const measurements: Measurement[] = [];
  const kinds = MEASUREMENTS[topic.category] ?? [];
  const nMeasure = kinds.length === 0 ? 0 : rng.bool(0.35) ? 0 : rng.bool(0.7) ? 1 : 2;
  for (const spec of rng.sample(kinds, nMeasure)) {
    const raw = rng.uniform(spec.lo, spec.hi);
    const value = spec.unit === 'cm' ? Math.round(raw * 10) / 10 : spec.kind === 'count' ? rng.pick(BEAD_COUNTS) : Math.round(raw);
    const m: Measurement = { kind: spec.kind, value, unit: spec.unit };
    if (spec.kind === 'size') m.value2 = Math.round(rng.uniform(spec.lo2 ?? spec.lo, spec.hi2 ?? spec.hi));
    measurements.push(m);
  }
  const parts: TitleParts = {
    object,
    crafts,
    jargon: rng.sample(seller.jargon, rng.bool(0.3) ? 0 : 1 + rng.int(3)),
    measurements,
  };
  const material = choose('material', 0.9, 0.85);
  const era = choose('era', 0.6, 0.8);
  const motif = choose('motif', 0.55, 0.8);
  const place = choose('place', 0.35, 0.8);
  if (material) parts.material = material;
  if (era) parts.era = era;
  if (motif) parts.motif = motif;
  if (place) parts.place = place;
  if (seller.makers.length > 0 && (MAKER_CATEGORIES as readonly string[]).includes(topic.category) && rng.bool(0.3)) {
    parts.maker = rng.pick(seller.makers);
  }
  return parts;
}

function buildUsers(scale: ScaleSpec, topics: Topic[], rng: Rng): User[] {
  const popular = new WeightedSampler(topics.map((t) => t.id), topics.map((t) => t.popularity));
  // Experts go after niche topics too: flatten popularity.
  const niche = new WeightedSampler(topics.map((t) => t.id), topics.map((t) => Math.pow(t.popularity, 0.3)));
  const nInterests = new WeightedSampler([1, 2, 3, 4, 5], [0.2, 0.3, 0.25, 0.15, 0.1]);
  const expertise = new WeightedSampler<Expertise>(['beginner', 'intermediate', 'expert'], [0.5, 0.35, 0.15]);
  const users: User[] = [];
  const rawActivity: number[] = [];
  for (let u = 0; u < scale.users; u++) {
    const e = expertise.draw(rng);
    const k = nInterests.draw(rng);
    const sampler = e === 'expert' ? niche : popular;
    const interests: number[] = [];
    for (let tries = 0; interests.length < k && tries < 50; tries++) {
      const t = sampler.draw(rng);
      if (!interests.includes(t)) interests.push(t);
    }
    const a = rng.logNormal(1, 0.8);
    rawActivity.push(a);
    users.push({
      idx: u,
      id: `u${String(u + 1).padStart(6, '0')}`,
      expertise: e,
      interests,
      weights: rng.dirichlet(1.5, interests.length),
      activity: a,
      hasSessionIds: rng.bool(0.5),
      searchRate: e === 'beginner' ? 0.12 : e === 'intermediate' ? 0.2 : 0.3,
    });
  }
  const mean = rawActivity.reduce((s, x) => s + x, 0) / Math.max(1, rawActivity.length);
  for (const u of users) u.activity = (u.activity / mean) * scale.sessionsPerUser;
  return users;
}
