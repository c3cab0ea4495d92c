import { EntityRecognizer, normalizeTitle, type Entity } from './entityRecognizer';
import type { Lexicon } from './lexicon';
import { entitiesInScope, type LexiconScope } from './lexiconScope';
import { Tokenizer } from './tokenizer';
import { findYears, yearTags, type YearMatch } from './years';

/**
 * The tags one title carries: its entities (dictionary and rules), years, and the mined phrases it
 * contains. The tagging stage (tagItems.ts) tags the catalogue through this, and the recall service
 * tags a lot listed after the retrain through it too (LotTagger), with the retrain's own mined
 * phrases and lexicon decision, so a new lot's tags mean what the trained item tower learned.
 */

/** A tag of an item, before tags get their ids. */
export interface PendingTag {
  tag: string;
  type: string;
  source: string;
  weight: number;
}

/** What the text analysis found in one title. */
export interface TitleParts {
  entities: readonly Entity[];
  years: readonly YearMatch[];
  /** The token runs phrases are looked up in (miningSegments). */
  segments: readonly (readonly string[])[];
}

/** Log-scale bucket of a measurement, so items of similar size share a tag. */
export function measurementBucket(id: string): string | undefined {
  const m = /^([a-z]+):([\d.]+)(?:x[\d.]+)?([a-z]+)$/.exec(id);
  if (!m) return undefined;
  const v = Number(m[2]);
  if (!(v > 0)) return undefined;
  const lo = Math.pow(2, Math.floor(Math.log2(v)));
  return `measure:${m[1]}:${lo}-${lo * 2}${m[3]}`;
}

/** A title's tags, each once, in the order found: entities, years, then mined phrases (looked up by their tokens joined with spaces). */
export function titleTags(parts: TitleParts, minedByKey: ReadonlyMap<string, { phrase: string }>, maxN: number): PendingTag[] {
  const list: PendingTag[] = [];
  const seen = new Set<string>();
  const add = (tag: string, type: string, source: string, weight: number) => {
    if (seen.has(tag)) return;
    seen.add(tag);
    list.push({ tag, type, source, weight });
  };
  for (const e of parts.entities) {
    if (e.type === 'measurement') {
      const bucket = measurementBucket(e.id);
      if (bucket) add(bucket, 'measurement', 'rule', 0.5);
    } else {
      add(e.id, e.type, e.type === 'maker' && e.id.startsWith('maker.new.') ? 'rule' : 'dictionary', 1);
    }
  }
  for (const y of parts.years) for (const tag of yearTags(y)) add(tag, tag.slice(0, tag.indexOf(':')), 'rule', 0.5);
  for (const toks of parts.segments) {
    for (let n = 1; n <= maxN; n++) {
      for (let s = 0; s + n <= toks.length; s++) {
        const m = minedByKey.get(toks.slice(s, s + n).join(' '));
        if (m) add(`mined:${m.phrase}`, 'phrase', 'mined', 0.5);
      }
    }
  }
  return list;
}

/** Years in a title outside its measurement spans (a "2000ml" is no year; findYears already skips most). */
export function yearsOutside(text: string, entities: readonly Entity[]): YearMatch[] {
  const measured = entities.filter((e) => e.type === 'measurement');
  return findYears(text).filter((y) => !measured.some((e) => y.start < e.end && e.start < y.end));
}

/**
 * Token runs of a title a phrase may be mined from: between its measurement, year and maker spans,
 * split at the tokenizer's phrase boundaries and at tokens holding digits.
 */
export function miningSegments(title: string, entities: readonly Entity[], years: readonly YearMatch[], tokenizer: Tokenizer): string[][] {
  const text = normalizeTitle(title);
  const cuts = [
    ...entities.filter((e) => e.type === 'measurement' || e.type === 'maker').map((e) => ({ start: e.start, end: e.end })),
    ...years.map((y) => ({ start: y.start, end: y.end })),
  ].sort((a, b) => a.start - b.start);
  const pieces: string[] = [];
  let at = 0;
  for (const e of cuts) {
    if (e.start > at) pieces.push(text.slice(at, e.start));
    at = Math.max(at, e.end);
  }
  pieces.push(text.slice(at));
  const runs: string[][] = [];
  for (const piece of pieces) {
    for (const run of tokenizer.phrases(piece)) {
      let current: string[] = [];
      for (const t of run) {
        if (/\d/.test(t)) {
          if (current.length > 0) runs.push(current);
          current = [];
        } else current.push(t);
      }
      if (current.length > 0) runs.push(current);
    }
  }
  return runs;
}

/** What a retrain's tagging decided that a new title must be tagged with: the lexicon's scope and the mined phrases. */
export interface TaggingVocabulary {
  lexiconInScope: boolean;
  /** Mined phrases and their tokens. */
  mined: { phrase: string; tokens: string[] }[];
  maxN: number;
}

/** Tags new titles as the retrain's tagging stage tagged its catalogue (no new phrases are mined; no visual tags without an image). */
export class LotTagger {
  private readonly recognizer: EntityRecognizer;
  private readonly tokenizer: Tokenizer;
  private readonly minedByKey: Map<string, { phrase: string }>;
  private readonly scope: LexiconScope;

  constructor(
    lexicon: Lexicon,
    private readonly vocabulary: TaggingVocabulary,
  ) {
    this.recognizer = new EntityRecognizer(lexicon);
    this.tokenizer = new Tokenizer(lexicon);
    this.minedByKey = new Map(vocabulary.mined.map((m) => [m.tokens.join(' '), { phrase: m.phrase }]));
    this.scope = { inScope: vocabulary.lexiconInScope, mode: vocabulary.lexiconInScope ? 'on' : 'off', coverage: Number.NaN, minCoverage: Number.NaN, titles: 0, reason: 'as the retrain decided' };
  }

  tag(title: string): PendingTag[] {
    const entities = entitiesInScope(this.recognizer.recognize(title), this.scope);
    const years = yearsOutside(normalizeTitle(title), entities);
    const segments = miningSegments(title, entities, years, this.tokenizer);
    return titleTags({ entities, years, segments }, this.minedByKey, this.vocabulary.maxN);
  }
}
