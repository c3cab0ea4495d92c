/**
 * Years and decades written in titles ("Toy Story (1995)", "2005年 老班章", "1920s Art Deco"), as
 * tags `year:1995` and `decade:1990s`: a vintage, an edition or a period is an attribute buyers
 * search by, and the decade tag lets items a few years apart share one. Generic rules, on for every
 * dataset.
 */

export interface YearMatch {
  /** The year, or for a decade ("1920s") its first year. */
  year: number;
  /** True when the title names the decade only ("1920s"). */
  decadeOnly: boolean;
  start: number;
  end: number;
}

export const MIN_YEAR = 1000;
export const MAX_YEAR = 2100;
/**
 * Below this a bare four-digit number is more often a model or part number ("Little Hands 1421")
 * than a year; earlier years count only when the title marks them as years: 1644年, (1750),
 * c. 1750, circa 1750, 1750s, AD 1421.
 */
export const MIN_BARE_YEAR = 1800;

/**
 * Words after a number that make it a count or a quantity, not a year ("1000 piece puzzle",
 * "1500 watt dryer", "2000 mAh").
 */
const QUANTITY_WORDS = new Set(
  'piece pieces pc pcs pack packs count ct sheet sheets page pages card cards watt watts w mah mg mcg kg g lb lbs oz ml l cm mm ft feet inch inches yard yards thread rpm dpi gb mb tb lumen lumens calorie calories cal iu unit units volt volts v psi x series mile miles km meter meters'.split(' '),
);
/** Words before a number that make it a code ("No. 1500", "Model 2000", "#1999"). */
const CODE_WORDS = new Set(['no', 'no.', 'number', 'model', 'item', 'part', 'style', 'ref', 'sku', 'art', 'size', 'vol', 'vol.']);
/** Han characters after a number that make it a quantity (1000元, 1000克, 2000张). */
const HAN_QUANTITY = /^[元克件张枚颗粒只个套片块米毫]/u;

// Four digits standing alone: not inside a longer number, a decimal, a code (XR-1500, 1/2000) or a word.
const YEAR = /(?<![\p{L}\p{N}#.,:/_])(?<!\p{L}-)(\d{4})(s|'s)?(?![\p{N}]|[.,:/]\d|[a-z])/gu;

const YEAR_WORDS_BEFORE = /(?:\b(?:c|ca|circa|ad|ce|year|dated|anno|since|in)\.?\s*|\()$/;

function markedAsYear(text: string, start: number, end: number): boolean {
  return YEAR_WORDS_BEFORE.test(text.slice(Math.max(0, start - 8), start)) || /^\s*(年|\)|ad\b|ce\b)/.test(text.slice(end));
}

/** Years and decades in a normalised (NFKC, lower-case) title. */
export function findYears(text: string): YearMatch[] {
  const out: YearMatch[] = [];
  for (const m of text.matchAll(YEAR)) {
    const year = Number(m[1]);
    if (year < MIN_YEAR || year > MAX_YEAR) continue;
    const start = m.index ?? 0;
    const end = start + m[0].length;
    const after = text.slice(end);
    const nextWord = /^[\s-]*([a-z]+\.?)/.exec(after)?.[1];
    if (nextWord && QUANTITY_WORDS.has(nextWord.replace(/\.$/, ''))) continue;
    if (HAN_QUANTITY.test(after.trimStart())) continue;
    const previousWord = /([a-z]+\.?)[\s#]*$/.exec(text.slice(0, start))?.[1];
    if (previousWord && CODE_WORDS.has(previousWord)) continue;
    const decadeOnly = m[2] !== undefined;
    if (decadeOnly && year % 10 !== 0) continue;
    if (year < MIN_BARE_YEAR && !decadeOnly && !markedAsYear(text, start, end)) continue;
    out.push({ year, decadeOnly, start, end });
  }
  return out;
}

/** The tags of a year match: its year (unless only the decade is named) and its decade. */
export function yearTags(m: YearMatch): string[] {
  const decade = `decade:${Math.floor(m.year / 10) * 10}s`;
  return m.decadeOnly ? [decade] : [`year:${m.year}`, decade];
}
