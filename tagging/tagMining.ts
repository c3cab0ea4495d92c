/**
 * Mines phrase tags the dictionary does not have, from the token sequences of all titles:
 * candidates are adjacent token n-grams (n = 1..3); a candidate is kept when it is frequent, its parts
 * stick together (pointwise mutual information) and it occurs in varied contexts (left and right
 * boundary entropy) — the usual signals that a string is a word or phrase of its own — and when it is
 * informative: not a stop word, a single character, a number or a piece of a word, and carried by
 * neither too few items nor too many (a tag on a large share of the catalogue tells items apart no
 * better than none).
 */

export interface MiningParams {
  minCount: number;
  minPmi: number;
  minBoundaryEntropy: number;
  maxN: number;
  /** Largest share of items a mined tag may occur in. */
  maxItemShare: number;
}

/**
 * maxItemShare 0.25: a tag on more than a quarter of the items is the catalogue's boilerplate (包邮,
 * "new", a shop's name), not an attribute; words that define a category ("hair" on a tenth of a
 * beauty catalogue) stay, because categories may have to be derived from the tags. The synthetic
 * marketplace's most frequent mined tag is on 0.5% of its items.
 */
export const DEFAULT_MINING: MiningParams = { minCount: 5, minPmi: 2.5, minBoundaryEntropy: 1.0, maxN: 3, maxItemShare: 0.25 };

export interface MinedTag {
  /** The tag's text: Han tokens joined directly, anything else with a space ("寿眉生茶", "eye shadow"). */
  phrase: string;
  /** Tokens the phrase is made of. */
  tokens: string[];
  count: number;
  /** Items (not occurrences) the phrase occurs in. */
  items: number;
  pmi: number;
  leftEntropy: number;
  rightEntropy: number;
}

export type DropReason = 'known' | 'stopWord' | 'singleCharacter' | 'number' | 'wordPiece' | 'tooFrequent' | 'tooRare' | 'notCohesive' | 'fixedContext';

export interface MiningResult {
  tags: MinedTag[];
  /** Candidates with at least minCount occurrences that were not kept, by the first reason. */
  dropped: Record<DropReason, number>;
}

export interface MiningOptions {
  /** Per document, the item it belongs to (a title is cut into several runs); default: one item per document. */
  itemOfDoc?: ArrayLike<number>;
  /** Words that are never tags on their own nor at a phrase's edge. */
  stopWords?: (token: string) => boolean;
}

const START = '\u0002';
const END = '\u0003';
const HAN = /\p{Script=Han}/u;

/**
 * Boundary entropy of a candidate's neighbours. Each time the candidate touches the edge of a run
 * (a title's start or end, punctuation, a stop word, a measurement) counts as a context of its own:
 * an edge is a word boundary for certain, so a word that always starts a run ("Love" in film titles,
 * cut off by the stop words before it) has free boundaries, not a fixed left neighbour.
 */
function entropy(counts: Map<string, number>): number {
  let total = 0;
  for (const c of counts.values()) total += c;
  let h = 0;
  for (const [context, c] of counts) {
    const p = c / total;
    h -= context === START || context === END ? c * (1 / total) * Math.log(1 / total) : p * Math.log(p);
  }
  return h;
}

/** Han tokens join without a space (和田 + 玉 → 和田玉); Latin ones keep it (eye + shadow → eye shadow, never "eyeshadow"-style glue). */
export function joinTokens(tokens: readonly string[]): string {
  let out = '';
  tokens.forEach((t, i) => {
    const prev = tokens[i - 1];
    const glue = prev !== undefined && HAN.test(prev.slice(-1)) && HAN.test(t.charAt(0)) ? '' : i > 0 ? ' ' : '';
    out += glue + t;
  });
  return out;
}

/**
 * Why a token sequence is not an informative tag whatever its statistics, or undefined if it may be.
 * Word pieces: possessive and contraction endings ("'s", "n't") and hyphen or apostrophe leftovers.
 * Latin words reach this point whole (wink-nlp, never jieba, cuts them), and Han phrases of single
 * characters are not pieces: jieba spelling out a word it does not know (包 + 将) is how new words
 * are found.
 */
export function uninformative(tokens: readonly string[], isStopWord: (t: string) => boolean = () => false): DropReason | undefined {
  const phrase = joinTokens(tokens);
  if (tokens.every((t) => /^[\p{N}.,]+$/u.test(t))) return 'number';
  if ([...phrase].length < 2) return 'singleCharacter';
  if (tokens.some((t) => /^['’-]|['’-]$/.test(t))) return 'wordPiece';
  if (isStopWord(tokens[0] as string) || isStopWord(tokens[tokens.length - 1] as string)) return 'stopWord';
  return undefined;
}

/**
 * @param docs token sequences (runs of a title between phrase boundaries)
 * @param known phrases to leave out (the dictionary's own surface forms)
 */
export function mineTagsDetailed(docs: string[][], known: Set<string>, params: MiningParams = DEFAULT_MINING, options: MiningOptions = {}): MiningResult {
  const itemOf = (d: number) => (options.itemOfDoc ? (options.itemOfDoc[d] as number) : d);
  const unigram = new Map<string, number>();
  const grams = new Map<string, { count: number; items: number; lastItem: number; left: Map<string, number>; right: Map<string, number>; tokens: string[] }>();
  let totalTokens = 0;
  const allItems = new Set<number>();
  docs.forEach((doc, d) => {
    const item = itemOf(d);
    allItems.add(item);
    totalTokens += doc.length;
    for (const t of doc) unigram.set(t, (unigram.get(t) ?? 0) + 1);
    for (let n = 1; n <= params.maxN; n++) {
      for (let i = 0; i + n <= doc.length; i++) {
        const tokens = doc.slice(i, i + n);
        const key = tokens.join(' ');
        let g = grams.get(key);
        if (!g) {
          g = { count: 0, items: 0, lastItem: -1, left: new Map(), right: new Map(), tokens };
          grams.set(key, g);
        }
        g.count++;
        // Documents of one item are consecutive, so counting item changes counts items.
        if (g.lastItem !== item) {
          g.items++;
          g.lastItem = item;
        }
        const l = i > 0 ? (doc[i - 1] as string) : START;
        const r = i + n < doc.length ? (doc[i + n] as string) : END;
        g.left.set(l, (g.left.get(l) ?? 0) + 1);
        g.right.set(r, (g.right.get(r) ?? 0) + 1);
      }
    }
  });
  const maxItems = params.maxItemShare * allItems.size;
  const p = (key: string) => (grams.get(key)?.count ?? 0) / Math.max(1, totalTokens);
  const tags: MinedTag[] = [];
  const dropped: Record<DropReason, number> = { known: 0, stopWord: 0, singleCharacter: 0, number: 0, wordPiece: 0, tooFrequent: 0, tooRare: 0, notCohesive: 0, fixedContext: 0 };
  for (const [key, g] of grams) {
    if (g.count < params.minCount) continue;
    const phrase = joinTokens(g.tokens);
    if (known.has(phrase) || known.has(key) || known.has(g.tokens.join(''))) {
      dropped.known++;
      continue;
    }
    const reason = uninformative(g.tokens, options.stopWords);
    if (reason) {
      dropped[reason]++;
      continue;
    }
    if (g.items < params.minCount) {
      dropped.tooRare++;
      continue;
    }
    if (g.items > maxItems) {
      dropped.tooFrequent++;
      continue;
    }
    // PMI of the weakest split: a phrase is only as cohesive as its loosest joint.
    let pmi = Infinity;
    for (let s = 1; s < g.tokens.length; s++) {
      const a = g.tokens.slice(0, s).join(' ');
      const b = g.tokens.slice(s).join(' ');
      pmi = Math.min(pmi, Math.log(p(key) / (p(a) * p(b))));
    }
    // A single token has no joint to test: frequency and boundary entropy decide alone.
    if (g.tokens.length === 1) pmi = 0;
    else if (pmi < params.minPmi) {
      dropped.notCohesive++;
      continue;
    }
    const le = entropy(g.left);
    const re = entropy(g.right);
    if (Math.min(le, re) < params.minBoundaryEntropy) {
      dropped.fixedContext++;
      continue;
    }
    tags.push({ phrase, tokens: g.tokens, count: g.count, items: g.items, pmi, leftEntropy: le, rightEntropy: re });
  }
  tags.sort((a, b) => b.count - a.count || a.phrase.localeCompare(b.phrase));
  return { tags, dropped };
}

/** The kept tags of mineTagsDetailed. */
export function mineTags(docs: string[][], known: Set<string>, params: MiningParams = DEFAULT_MINING, options: MiningOptions = {}): MinedTag[] {
  return mineTagsDetailed(docs, known, params, options).tags;
}
