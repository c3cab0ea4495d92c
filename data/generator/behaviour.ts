import type { AmbiguousQuery, Lexicon, Term } from '../../tagging/lexicon';
import { affinity, clickProbability } from './clickModel';
import { Rng, WeightedSampler } from './rng';
import type { ScaleSpec } from './scales';
import type { Lang } from './titles';
import { DAY, HOUR, MAX_AUCTION_MS, type Item, type User, type World } from './world';
import { lowerBound, upperBound } from '../../platform/binarySearch';

/**
 * User behaviour: sessions that mix one to three of a user's interests, feed pages from the
 * platform's current recommender (the logging policy), searches with ambiguous and synonymous
 * keywords, "similar items" on detail pages, and clicks, favourites, bids and wins decided by the
 * ground-truth click model.
 */

export type EventType = 'impression' | 'click' | 'favorite' | 'bid' | 'win';
export type Source = 'feed' | 'search' | 'detail';

export interface EventRow {
  user: number;
  item: number;
  type: EventType;
  ts: number;
  sessionId: string | null;
  source: Source;
  position: number | null;
  searchId: string | null;
}

export interface SearchRow {
  searchId: string;
  user: number;
  query: string;
  ts: number;
  /** Ground truth: the topic the user had in mind and the term ids the query stands for. */
  topic: number;
  termIds: string[];
}

const FEED_PAGE = 10;
const DETAIL_PAGE = 6;
const SESSION_GAP = 30 * 60_000;
/** Hour-of-day weights (UTC+8 evenings are the busiest hours on the platform). */
const HOUR_WEIGHTS = [3, 2, 1, 1, 1, 1, 2, 3, 4, 5, 5, 5, 6, 6, 5, 5, 5, 6, 7, 8, 9, 9, 8, 5];

/**
 * Items live at a moment, by topic and overall. Lists of the items live at any time within an hour
 * are cached per (topic, hour): simulations ask for the same topics at nearby times again and again.
 */
export class LiveItems {
  private readonly listed: Float64Array[];
  private readonly cache = new Map<number, Int32Array>();
  private readonly allListed: Float64Array;
  private static readonly BUCKET = HOUR;
  private static readonly MAX_CACHED = 400_000;

  constructor(private readonly world: World) {
    this.listed = world.itemsByTopic.map((list) => Float64Array.from(list, (i) => (world.items[i] as Item).listedAt));
    this.allListed = Float64Array.from(world.items, (it) => it.listedAt);
  }

  /** Items of a topic live at some moment of the hour containing ts (callers check exact liveness). */
  private hourList(topic: number, ts: number): Int32Array {
    const bucket = Math.floor(ts / LiveItems.BUCKET);
    const key = bucket * 4096 + topic;
    let hit = this.cache.get(key);
    if (!hit) {
      if (this.cache.size > LiveItems.MAX_CACHED) this.cache.clear();
      const from = bucket * LiveItems.BUCKET;
      const to = from + LiveItems.BUCKET;
      const list = this.world.itemsByTopic[topic] ?? [];
      const listed = this.listed[topic] as Float64Array;
      const hi = upperBound(listed, to);
      const out: number[] = [];
      for (let k = lowerBound(listed, from - MAX_AUCTION_MS); k < hi; k++) {
        const idx = list[k] as number;
        if ((this.world.items[idx] as Item).endsAt >= from) out.push(idx);
      }
      hit = Int32Array.from(out);
      this.cache.set(key, hit);
    }
    return hit;
  }

  isLive(idx: number, ts: number): boolean {
    const it = this.world.items[idx] as Item;
    return it.listedAt <= ts && it.endsAt >= ts;
  }

  /** Every item of the topic live at ts. */
  inTopic(topic: number, ts: number): number[] {
    const out: number[] = [];
    for (const idx of this.hourList(topic, ts)) if (this.isLive(idx, ts)) out.push(idx);
    return out;
  }

  /** One random live item of the topic that `ok` accepts, or undefined. */
  pick(topic: number, ts: number, rng: Rng, ok: (idx: number) => boolean): number | undefined {
    const list = this.hourList(topic, ts);
    if (list.length === 0) return undefined;
    for (let tries = 0; tries < 12; tries++) {
      const idx = list[rng.int(list.length)] as number;
      if (this.isLive(idx, ts) && ok(idx)) return idx;
    }
    return undefined;
  }

  random(ts: number, rng: Rng): number | undefined {
    const lo = lowerBound(this.allListed, ts - MAX_AUCTION_MS);
    const hi = upperBound(this.allListed, ts);
    if (hi <= lo) return undefined;
    for (let tries = 0; tries < 20; tries++) {
      const idx = lo + rng.int(hi - lo);
      if ((this.world.items[idx] as Item).endsAt >= ts) return idx;
    }
    return undefined;
  }
}

export interface BehaviourContext {
  world: World;
  lex: Lexicon;
  scale: ScaleSpec;
  live: LiveItems;
  topicSampler: WeightedSampler<number>;
  topicsByCategory: Map<string, number[]>;
  /** Topics whose usual terms include a term id: where a search for that term finds items. */
  topicsByTerm: Map<string, number[]>;
  lang: Lang | 'mixed';
  /** Ambiguous short keywords that can stand for one of a topic's usual terms. */
  ambiguousByTopic: Map<number, AmbiguousQuery[]>;
}

export function behaviourContext(world: World, lex: Lexicon, scale: ScaleSpec, lang: Lang | 'mixed'): BehaviourContext {
  const topicsByCategory = new Map<string, number[]>();
  const topicsByTerm = new Map<string, number[]>();
  for (const t of world.topics) {
    topicsByCategory.set(t.category, [...(topicsByCategory.get(t.category) ?? []), t.id]);
    for (const terms of Object.values(t.prefs)) {
      for (const term of terms ?? []) topicsByTerm.set(term.id, [...(topicsByTerm.get(term.id) ?? []), t.id]);
    }
  }
  const ambiguousByTopic = new Map<number, AmbiguousQuery[]>();
  for (const t of world.topics) {
    const ids = new Set(Object.values(t.prefs).flatMap((terms) => (terms ?? []).map((x) => x.id)));
    ambiguousByTopic.set(t.id, lex.ambiguousQueries.filter((q) => q.ids.some((id) => ids.has(id))));
  }
  return {
    world,
    lex,
    ambiguousByTopic,
    scale,
    live: new LiveItems(world),
    topicSampler: new WeightedSampler(world.topics.map((t) => t.id), world.topics.map((t) => t.popularity)),
    topicsByCategory,
    topicsByTerm,
    lang,
  };
}

/** Every event and search of one user over the whole period, in time order. */
export function simulateUser(ctx: BehaviourContext, user: User, seed: number): { events: EventRow[]; searches: SearchRow[] } {
  const rng = new Rng(seed, 1_000_003 + user.idx);
  const { world } = ctx;
  const events: EventRow[] = [];
  const searches: SearchRow[] = [];
  const starts = sessionStarts(ctx, user, rng);
  const interestSampler = new WeightedSampler(user.interests, user.weights);

  starts.forEach((start, s) => {
    const sessionId = user.hasSessionIds ? `${user.id}-${s + 1}` : null;
    const nActive = Math.min(user.interests.length, rng.bool(0.45) ? 1 : rng.bool(0.73) ? 2 : 3);
    const active: number[] = [];
    for (let tries = 0; active.length < nActive && tries < 30; tries++) {
      const t = interestSampler.draw(rng);
      if (!active.includes(t)) active.push(t);
    }
    const activeVectors = active.map((t) => world.topics[t]?.vector as Float32Array);
    const shown = new Set<number>();
    const pages = Math.min(8, rng.geometric(2.5));
    const searchAt = rng.bool(user.searchRate) ? rng.int(pages) : -1;
    let t = start;

    const react = (itemIdx: number, position: number, source: Source, searchId: string | null, logImpression: boolean) => {
      const item = world.items[itemIdx] as Item;
      if (logImpression) events.push({ user: user.idx, item: itemIdx, type: 'impression', ts: t + position * 150, sessionId, source, position, searchId });
      const p = clickProbability(affinity(activeVectors, item.latent), item.quality, user.expertise, position);
      if (!rng.bool(p)) return false;
      const clickTs = t + 2_000 + rng.int(25_000);
      events.push({ user: user.idx, item: itemIdx, type: 'click', ts: clickTs, sessionId, source, position, searchId });
      const favRate = user.expertise === 'expert' ? 0.2 : user.expertise === 'intermediate' ? 0.15 : 0.12;
      if (rng.bool(favRate)) events.push({ user: user.idx, item: itemIdx, type: 'favorite', ts: clickTs + 5_000 + rng.int(30_000), sessionId, source, position, searchId });
      const bidRate = (user.expertise === 'expert' ? 0.18 : user.expertise === 'intermediate' ? 0.1 : 0.06) * (0.5 + item.quality);
      if (rng.bool(bidRate) && item.endsAt > clickTs) {
        events.push({ user: user.idx, item: itemIdx, type: 'bid', ts: clickTs + 10_000 + rng.int(60_000), sessionId, source, position, searchId });
        if (item.endsAt < world.end && rng.bool(0.35)) {
          events.push({ user: user.idx, item: itemIdx, type: 'win', ts: item.endsAt, sessionId: null, source, position, searchId });
        }
      }
      t = clickTs + 5_000;
      return true;
    };

    for (let page = 0; page < pages && t < world.end; page++) {
      if (page === searchAt) {
        const sr = search(ctx, user, active, t, rng, searches.length);
        if (sr) {
          searches.push(sr.row);
          const log = rng.bool(ctx.scale.impressionLogRate);
          sr.results.forEach((itemIdx, pos) => {
            shown.add(itemIdx);
            react(itemIdx, pos, 'search', sr.row.searchId, log);
          });
          t += 15_000 + rng.int(60_000);
        }
      }
      const feed = feedPage(ctx, user, t, rng, shown);
      const log = rng.bool(ctx.scale.impressionLogRate);
      feed.forEach((itemIdx, pos) => {
        shown.add(itemIdx);
        const clicked = react(itemIdx, pos, 'feed', null, log);
        // A detail page shows similar items from the same topic; some users browse them.
        if (clicked && rng.bool(0.25)) {
          const item = world.items[itemIdx] as Item;
          const similar = rng.sample(ctx.live.inTopic(item.topic, t).filter((i) => !shown.has(i)), DETAIL_PAGE);
          similar.forEach((sim, spos) => {
            shown.add(sim);
            react(sim, spos, 'detail', null, false);
          });
        }
      });
      t += 20_000 + rng.int(100_000);
    }
  });
  events.sort((a, b) => a.ts - b.ts);
  return { events: events.filter((e) => e.ts < world.end), searches };
}

/** Session start times: diurnal, at least 30 minutes apart so that gaps mark sessions. */
function sessionStarts(ctx: BehaviourContext, user: User, rng: Rng): number[] {
  const { world } = ctx;
  const hours = new WeightedSampler(HOUR_WEIGHTS.map((_, h) => h), HOUR_WEIGHTS);
  const n = Math.max(1, rng.poisson(user.activity));
  const days = Math.round((world.end - world.start) / DAY);
  const raw = Array.from({ length: n }, () => world.start + rng.int(days) * DAY + hours.draw(rng) * HOUR + rng.int(60) * 60_000);
  raw.sort((a, b) => a - b);
  const out: number[] = [];
  for (const s of raw) {
    const prev = out[out.length - 1];
    const at = prev !== undefined && s < prev + SESSION_GAP + 45 * 60_000 ? prev + SESSION_GAP + 45 * 60_000 : s;
    if (at < world.end - HOUR) out.push(at);
  }
  return out;
}

/**
 * The logging policy: the platform's current recommender. It knows users' interests only roughly:
 * 40% of slots from one of the user's interests (not necessarily today's), 15% from a related topic
 * of the same category, 25% popular items, 20% anything live.
 */
function feedPage(ctx: BehaviourContext, user: User, ts: number, rng: Rng, shown: Set<number>): number[] {
  const out: number[] = [];
  const { world } = ctx;
  const fresh = (i: number) => !shown.has(i) && !out.includes(i);
  for (let tries = 0; out.length < FEED_PAGE && tries < FEED_PAGE * 4; tries++) {
    const r = rng.next();
    let pick: number | undefined;
    if (r < 0.4) pick = ctx.live.pick(rng.pick(user.interests), ts, rng, fresh);
    else if (r < 0.8) {
      const topic =
        r < 0.55
          ? rng.pick(ctx.topicsByCategory.get(world.topics[rng.pick(user.interests)]?.category ?? '') ?? user.interests)
          : ctx.topicSampler.draw(rng);
      // Related and popular slots lean to the better pieces of a topic.
      pick = bestOf(ctx, topic, ts, rng, fresh);
    } else {
      const any = ctx.live.random(ts, rng);
      if (any !== undefined && fresh(any)) pick = any;
    }
    if (pick !== undefined) out.push(pick);
  }
  return out;
}

function bestOf(ctx: BehaviourContext, topic: number, ts: number, rng: Rng, ok: (i: number) => boolean): number | undefined {
  let best: number | undefined;
  for (let i = 0; i < 3; i++) {
    const c = ctx.live.pick(topic, ts, rng, ok);
    if (c !== undefined && (best === undefined || (ctx.world.items[c] as Item).quality > (ctx.world.items[best] as Item).quality)) best = c;
  }
  return best;
}

/** A search for one of the session's interests, with the results a keyword engine would return. */
function search(
  ctx: BehaviourContext,
  user: User,
  active: number[],
  ts: number,
  rng: Rng,
  n: number,
): { row: SearchRow; results: number[] } | undefined {
  const { world, lex } = ctx;
  const topicId = rng.pick(active);
  const topic = world.topics[topicId];
  if (!topic) return undefined;
  const lang = ctx.lang === 'mixed' ? (rng.bool(0.15) ? 'en' : 'zh') : ctx.lang;
  const pick = (terms: Term[] | undefined) => (terms && terms.length > 0 ? rng.pick(terms) : undefined);
  const object = pick(topic.prefs.object);
  const r = rng.next();
  let terms: Term[];
  let query: string;
  const ambiguous = ctx.ambiguousByTopic.get(topicId) ?? [];
  if (r < 0.15 && ambiguous.length > 0) {
    const q = rng.pick(ambiguous);
    terms = q.ids.map((id) => lex.byId.get(id)).filter((t): t is Term => t !== undefined);
    query = q.query;
  } else {
    const second = r < 0.65 ? pick(topic.prefs.material) : r < 0.85 ? pick(topic.prefs.motif) : undefined;
    terms = [second, object].filter((t): t is Term => t !== undefined);
    if (terms.length === 0) return undefined;
    const surface = (t: Term) =>
      lang === 'en' ? (t.enVariants.length && rng.bool(0.25) ? rng.pick(t.enVariants) : t.en) : t.zhVariants.length && rng.bool(0.3) ? rng.pick(t.zhVariants) : t.zh;
    query = terms.map(surface).join(lang === 'en' || rng.bool(0.5) ? ' ' : '');
  }
  const wanted = new Set(terms.map((t) => t.id));
  const candidateTopics = new Set<number>([topicId]);
  for (const id of wanted) for (const t of ctx.topicsByTerm.get(id) ?? []) candidateTopics.add(t);
  const scored: { idx: number; score: number }[] = [];
  for (const t of candidateTopics) {
    for (const idx of ctx.live.inTopic(t, ts)) {
      const item = world.items[idx] as Item;
      const overlap = item.truth.reduce((s, x) => s + (wanted.has(x.id) ? 1 : 0), 0);
      if (overlap > 0) scored.push({ idx, score: overlap + 0.3 * item.quality + 0.2 * rng.next() });
    }
  }
  scored.sort((a, b) => b.score - a.score);
  const results = scored.slice(0, FEED_PAGE).map((s) => s.idx);
  return {
    row: { searchId: `${user.id}-q${n + 1}`, user: user.idx, query, ts, topic: topicId, termIds: [...wanted] },
    results,
  };
}
