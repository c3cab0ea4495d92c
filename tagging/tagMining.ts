/**
 * Mines phrase tags the dictionary does not have, from the token sequences of all titles:
 * candidates are adjacent token n-grams (n = 1..3); a candidate is kept when it is frequent, its parts
 * stick together (pointwise mutual information) and it occurs in varied contexts (left and right
 * boundary entropy) — the usual signals that a string is a word or phrase of its own.
 */

export interface MiningParams {
  minCount: number;
  minPmi: number;
  minBoundaryEntropy: number;
  maxN: number;
}

export const DEFAULT_MINING: MiningParams = { minCount: 5, minPmi: 2.5, minBoundaryEntropy: 1.0, maxN: 3 };

export interface MinedTag {
  phrase: string;
  /** Tokens the phrase is made of, joined by a space. */
  tokens: string[];
  count: number;
  pmi: number;
  leftEntropy: number;
  rightEntropy: number;
}

const START = '\u0002';
const END = '\u0003';

function entropy(counts: Map<string, number>): number {
  let total = 0;
  for (const c of counts.values()) total += c;
  let h = 0;
  for (const c of counts.values()) {
    const p = c / total;
    h -= p * Math.log(p);
  }
  return h;
}

/**
 * @param docs token sequences, one per title
 * @param known phrases to leave out (the dictionary's own surface forms)
 */
export function mineTags(docs: string[][], known: Set<string>, params: MiningParams = DEFAULT_MINING): MinedTag[] {
  const unigram = new Map<string, number>();
  const grams = new Map<string, { count: number; left: Map<string, number>; right: Map<string, number>; tokens: string[] }>();
  let totalTokens = 0;
  for (const doc of docs) {
    totalTokens += doc.length;
    for (const t of doc) unigram.set(t, (unigram.get(t) ?? 0) + 1);
    for (let n = 1; n <= params.maxN; n++) {
      for (let i = 0; i + n <= doc.length; i++) {
        const tokens = doc.slice(i, i + n);
        const key = tokens.join(' ');
        let g = grams.get(key);
        if (!g) {
          g = { count: 0, left: new Map(), right: new Map(), tokens };
          grams.set(key, g);
        }
        g.count++;
        const l = i > 0 ? (doc[i - 1] as string) : START;
        const r = i + n < doc.length ? (doc[i + n] as string) : END;
        g.left.set(l, (g.left.get(l) ?? 0) + 1);
        g.right.set(r, (g.right.get(r) ?? 0) + 1);
      }
    }
  }
  const p = (key: string) => (grams.get(key)?.count ?? 0) / Math.max(1, totalTokens);
  const out: MinedTag[] = [];
  for (const [key, g] of grams) {
    if (g.count < params.minCount) continue;
    const phrase = g.tokens.join('');
    if (known.has(phrase) || known.has(key)) continue;
    if (g.tokens.length === 1 && [...phrase].length < 2) continue;
    // PMI of the weakest split: a phrase is only as cohesive as its loosest joint.
    let pmi = Infinity;
    for (let s = 1; s < g.tokens.length; s++) {
      const a = g.tokens.slice(0, s).join(' ');
      const b = g.tokens.slice(s).join(' ');
      pmi = Math.min(pmi, Math.log(p(key) / (p(a) * p(b))));
    }
    // A single token has no joint to test: frequency and boundary entropy decide alone.
    if (g.tokens.length === 1) pmi = 0;
    else if (pmi < params.minPmi) continue;
    const le = entropy(g.left);
    const re = entropy(g.right);
    if (Math.min(le, re) < params.minBoundaryEntropy) continue;
    out.push({ phrase, tokens: g.tokens, count: g.count, pmi, leftEntropy: le, rightEntropy: re });
  }
  out.sort((a, b) => b.count - a.count || a.phrase.localeCompare(b.phrase));
  return out;
}
