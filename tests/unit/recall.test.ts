import { ConstrainedIndex } from '../../retrieval/constrainedIndex';
import { LiveItems } from '../../retrieval/liveItems';
import { fillFeed, PopularItems } from '../../retrieval/popularFallback';
import { recallForUser, recallFromInterests, type MultiInterestRecallConfig } from '../../retrieval/recall';
import type { Candidate, InterestModel } from '../../retrieval/types';

// A hand-made catalogue on the unit circle, so every expected answer can be worked out by eye.
// item: angle in degrees, category.
const ITEMS: [number, string][] = [
  [0, 'jade'], [5, 'jade'], [10, 'jade'], [15, 'jade'], [20, 'jade'], [25, 'jade'], [30, 'jade'], [35, 'jade'], // 0..7
  [40, 'tea'], [45, 'tea'], [50, 'tea'], // 8..10
  [90, 'coin'], [95, 'coin'], [100, 'coin'], [105, 'coin'], [110, 'coin'], // 11..15
  [180, 'seal'], [185, 'seal'], [190, 'seal'], [195, 'seal'], // 16..19
];
const at = (deg: number) => new Float32Array([Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)]);
const index = ConstrainedIndex.build({
  dim: 2,
  vectors: Float32Array.from(ITEMS.flatMap(([deg]) => Array.from(at(deg)))),
  itemIds: ITEMS.map((_, i) => `i${i}`),
  itemCategories: ITEMS.map(([, c]) => c),
});
const all = Int32Array.from(ITEMS.keys());
const cat = (c: Candidate) => ITEMS[c.itemIdx]?.[1];
const config: MultiInterestRecallConfig = { size: 6, perRoute: 4, categoriesPerInterest: 2, categoryProbe: 12, maxCategoryShare: 0.5 };

describe('multi-interest recall', () => {
  it('never returns items the user has seen or auctions that are not live', () => {
    const live = all.filter((i) => i !== 2 && i !== 13);
    const seen = new Set([1, 12, 9]);
    const feed = recallFromInterests([at(8), at(100)], index, { live, seen }, config);
    expect(feed).toHaveLength(6);
    for (const c of feed) {
      expect(seen.has(c.itemIdx)).toBe(false);
      expect([2, 13]).not.toContain(c.itemIdx);
    }
  });

  it('with categoriesPerInterest 0 uses open routes only; merge "score" ranks every candidate by inner product', () => {
    const open = recallFromInterests([at(10), at(100)], index, { live: all, seen: new Set() }, { ...config, categoriesPerInterest: 0 });
    expect(open.every((c) => c.route === 'open')).toBe(true);
    expect(open).toHaveLength(6);
    // Score merge: the six items nearest either interest (0 and 1 both at distance 0 from theirs), best first.
    const byScore = recallFromInterests([at(10), at(100)], index, { live: all, seen: new Set() }, { ...config, categoriesPerInterest: 0, merge: 'score' });
    expect(byScore.map((c) => c.itemIdx).sort((a, b) => a - b)).toEqual([1, 2, 3, 12, 13, 14]);
    for (let r = 1; r < byScore.length; r++) expect(byScore[r]!.score).toBeLessThanOrEqual(byScore[r - 1]!.score);
    expect(() => recallFromInterests([at(10)], index, { live: all, seen: new Set() }, { ...config, categoriesPerInterest: -1 })).toThrow(/categoriesPerInterest/);
  });

  it('keeps each route exactly its top-k among unseen live items however many top items were seen', () => {
    // The five jade items nearest the interest are seen. Faiss is asked for k + (seen live items), so
    // the routes still bring the next three jade items; asking for k alone would return only seen ones.
    const seen = new Set([0, 1, 2, 3, 4]);
    const feed = recallFromInterests([at(10)], index, { live: all, seen }, { ...config, size: 3, perRoute: 3, categoriesPerInterest: 1, maxCategoryShare: 1 });
    expect(feed.map((c) => c.itemIdx)).toEqual([5, 6, 7]);
    expect(feed.map((c) => c.route)).toEqual(['category', 'open', 'category']);
  });

  it('gives interests quota turns in proportion to their weights; equal weights are plain turns; zero interests are skipped', () => {
    const open = { ...config, size: 8, perRoute: 8, categoriesPerInterest: 0, maxCategoryShare: 1 };
    const req = { live: all, seen: new Set<number>() };
    const equal = recallFromInterests([at(10), at(100)], index, req, open);
    expect(equal).toEqual(recallFromInterests([at(10), at(100)], index, req, open, [0.4, 0.4]));
    expect(equal.filter((c) => c.interest === 0)).toHaveLength(4);
    // Three turns to one: the jade interest takes six of eight slots, the coin interest two.
    const weighted = recallFromInterests([at(10), at(100)], index, req, open, [0.9, 0.3]);
    expect(weighted.filter((c) => cat(c) === 'coin')).toHaveLength(2);
    expect(weighted).toHaveLength(8);
    // A user without behaviour has a zero interest: it retrieves nothing and takes no turns.
    const withZero = recallFromInterests([new Float32Array(2), at(100)], index, req, open, [1, 0.5]);
    expect(withZero.every((c) => cat(c) === 'coin' || cat(c) === 'tea' || cat(c) === 'seal' || c.interest === 0)).toBe(true);
    expect(withZero).toHaveLength(8);
  });

  it('shares the feed between interests and, within an interest, between its top-2 categories and the open route', () => {
    const feed = recallFromInterests([at(10), at(100)], index, { live: all, seen: new Set() }, config);
    const byInterest = [0, 1].map((k) => feed.filter((c) => c.interest === k));
    expect(byInterest.map((l) => l.length)).toEqual([3, 3]);
    // Interest 0 sits among jade items, next to tea: its constrained routes are jade and tea, so tea
    // reaches the feed although its unconstrained top-8 is all jade.
    expect(new Set(byInterest[0]?.map(cat))).toEqual(new Set(['jade', 'tea']));
    expect(byInterest[0]?.find((c) => cat(c) === 'tea')).toMatchObject({ itemIdx: 8, route: 'category' });
    // Interest 1's best item is the coin it points at; its second category (tea, nearer than jade) gets a slot too.
    expect(byInterest[1]?.[0]).toMatchObject({ itemIdx: 13, route: 'category' });
    expect(new Set(byInterest[1]?.map(cat))).toEqual(new Set(['coin', 'tea']));
    // Interests take turns (equally strong here, so in their given order): positions alternate.
    expect(feed.map((c) => c.interest)).toEqual([0, 1, 0, 1, 0, 1]);
    expect(new Set(feed.map((c) => c.itemIdx)).size).toBe(6);
  });

  it('caps a category at maxCategoryShare of the feed while other candidates remain, and fills past the cap only when none do', () => {
    const oneCategory = { ...config, size: 4, perRoute: 10, categoriesPerInterest: 1, maxCategoryShare: 0.5 };
    const capped = recallFromInterests([at(10)], index, { live: all, seen: new Set() }, oneCategory);
    expect(capped.map(cat)).toEqual(['jade', 'jade', 'tea', 'tea']);
    const onlyJade = all.filter((i) => ITEMS[i]?.[1] === 'jade');
    const filled = recallFromInterests([at(10)], index, { live: onlyJade, seen: new Set() }, oneCategory);
    expect(filled.map(cat)).toEqual(['jade', 'jade', 'jade', 'jade']);
  });

  it('asks the model with the long-term and session histories and recalls from its interests', () => {
    const calls: [number[], number[]][] = [];
    const model: InterestModel = {
      dim: 2,
      interests(longTerm, shortTerm) {
        calls.push([Array.from(longTerm), Array.from(shortTerm)]);
        return [at(185)];
      },
    };
    const feed = recallForUser(model, index, { longTerm: Int32Array.from([16, 17]), shortTerm: Int32Array.from([18]), live: all, seen: new Set([16, 17, 18]) }, config);
    expect(calls).toEqual([[[16, 17], [18]]]);
    expect(feed[0]?.itemIdx).toBe(19);
    expect(feed.every((c) => ![16, 17, 18].includes(c.itemIdx))).toBe(true);
  });

  it('returns nothing without interests or live items', () => {
    expect(recallFromInterests([], index, { live: all, seen: new Set() }, config)).toEqual([]);
    expect(recallFromInterests([at(0)], index, { live: new Int32Array(), seen: new Set() }, config)).toEqual([]);
  });
});

describe('live items and the popular fallback', () => {
  const listedAt = Float64Array.from([0, 10, 20, 30, 40]);
  const endsAt = Float64Array.from([100, 25, 50, 35, 1000]);
  const live = new LiveItems({ itemIds: ['a', 'b', 'c', 'd', 'e'], categories: ['x', 'x', 'x', 'x', 'x'], listedAt, endsAt });

  it('knows which auctions are open: listed at or before t, ending after t', () => {
    expect(Array.from(live.at(30))).toEqual([0, 2, 3]);
    expect(Array.from(live.at(35))).toEqual([0, 2]);
    expect(Array.from(live.at(5))).toEqual([0]);
    expect(live.isLive(1, 25)).toBe(false);
    expect(live.isLive(1, 24)).toBe(true);
  });

  it('fills a short feed with the most clicked live unseen items, fresher first on equal clicks, and counts the filled slots', () => {
    const popular = new PopularItems(Float64Array.from([5, 9, 1, 1, 7]), listedAt);
    const liveNow = live.at(45); // 0, 2, 4
    const feed = fillFeed([{ itemIdx: 2, score: 1, route: 'item-cf', interest: -1 }], 3, popular, liveNow, (i) => i === 0);
    expect(feed.items.map((c) => c.itemIdx)).toEqual([2, 4]);
    expect(feed.fallbackFilled).toBe(1);
    expect(feed.items[1]?.route).toBe('popular');
    const ties = new PopularItems(Float64Array.from([0, 0, 0, 0, 0]), listedAt);
    expect(ties.top(Int32Array.from([0, 2, 4]), 3, () => false)).toEqual([4, 2, 0]);
    const full = fillFeed([{ itemIdx: 4, score: 1, route: 'open', interest: 0 }], 1, popular, liveNow, () => false);
    expect(full.fallbackFilled).toBe(0);
  });
});
