import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../platform/paths';
import { CurioError } from '../platform/errors';

/**
 * The product's domain dictionary (tagging/lexicon/*.tsv): the vocabulary the tagger recognises and
 * the synthetic marketplace composes titles from. See tagging/lexicon/README.md for the columns.
 */

export const LEXICON_TYPES = ['object', 'material', 'era', 'craft', 'motif', 'place', 'jargon'] as const;
export type LexiconType = (typeof LEXICON_TYPES)[number];
/** Entity types the tagger emits: dictionary types plus makers and rule-based measurements. */
export type EntityType = LexiconType | 'maker' | 'measurement';
export const ENTITY_TYPES: readonly EntityType[] = [...LEXICON_TYPES, 'maker', 'measurement'];

export interface Category {
  code: string;
  zh: string;
  en: string;
}

export interface Term {
  type: LexiconType | 'maker';
  id: string;
  zh: string;
  zhVariants: string[];
  en: string;
  enVariants: string[];
  /** Category codes the term occurs in; empty means any category. */
  categories: string[];
  weight: number;
}

export interface AmbiguousQuery {
  query: string;
  ids: string[];
}

export interface Lexicon {
  categories: Category[];
  terms: Term[];
  makers: Term[];
  byId: Map<string, Term>;
  ambiguousQueries: AmbiguousQuery[];
  /** Characters sellers mistype, with what they type instead. */
  typos: Map<string, string[]>;
  /** Every Chinese surface form (canonical and variants, makers included) → its term. */
  zhSurface: Map<string, Term>;
  /** Every English surface form, lower-cased → its term. */
  enSurface: Map<string, Term>;
}

export const lexiconDir = join(projectRoot, 'tagging', 'lexicon');

export class LexiconError extends CurioError {
  constructor(file: string, line: number, reason: string) {
    super(`${file}:${line}: ${reason}`, { type: 'LexiconError', retryable: false });
  }
}

function readTsv(dir: string, name: string): { file: string; rows: { line: number; cells: Record<string, string> }[] } {
  const file = join(dir, name);
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  const header = (lines[0] ?? '').split('\t');
  const rows: { line: number; cells: Record<string, string> }[] = [];
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    if (raw.trim() === '') continue;
    const parts = raw.split('\t');
    if (parts.length !== header.length) {
      throw new LexiconError(file, i + 1, `expected ${header.length} tab-separated columns, found ${parts.length}`);
    }
    rows.push({ line: i + 1, cells: Object.fromEntries(header.map((h, j) => [h, (parts[j] ?? '').trim()])) });
  }
  return { file, rows };
}

const splitList = (s: string | undefined, sep: string): string[] =>
  (s ?? '')
    .split(sep)
    .map((x) => x.trim())
    .filter((x) => x.length > 0);

let cached: Lexicon | undefined;

/** Loads and checks the lexicon; errors name the file, line and reason. */
export function loadLexicon(dir = lexiconDir): Lexicon {
  if (dir === lexiconDir && cached) return cached;
  const cats = readTsv(dir, 'categories.tsv');
  const categories = cats.rows.map((r) => ({ code: r.cells.code ?? '', zh: r.cells.zh ?? '', en: r.cells.en ?? '' }));
  const codes = new Set(categories.map((c) => c.code));

  const terms: Term[] = [];
  const makers: Term[] = [];
  const byId = new Map<string, Term>();
  const zhSurface = new Map<string, Term>();
  const enSurface = new Map<string, Term>();

  const addTerm = (term: Term, file: string, line: number) => {
    if (byId.has(term.id)) throw new LexiconError(file, line, `duplicate id ${term.id}`);
    byId.set(term.id, term);
    for (const s of [term.zh, ...term.zhVariants]) {
      const other = zhSurface.get(s);
      if (other && other.id !== term.id) throw new LexiconError(file, line, `surface form ${s} already means ${other.id}`);
      zhSurface.set(s, term);
    }
    for (const s of [term.en, ...term.enVariants]) {
      const key = s.toLowerCase();
      if (!enSurface.has(key)) enSurface.set(key, term);
    }
  };

  const t = readTsv(dir, 'terms.tsv');
  for (const { line, cells } of t.rows) {
    const type = cells.type as LexiconType;
    if (!LEXICON_TYPES.includes(type)) throw new LexiconError(t.file, line, `unknown type '${cells.type}'`);
    const categoriesCell = splitList(cells.categories, ',');
    const categoriesList = categoriesCell.includes('*') ? [] : categoriesCell;
    for (const c of categoriesList) if (!codes.has(c)) throw new LexiconError(t.file, line, `unknown category '${c}'`);
    const weight = Number(cells.weight);
    if (!(weight > 0)) throw new LexiconError(t.file, line, `weight must be a positive number, got '${cells.weight}'`);
    const term: Term = {
      type,
      id: cells.id ?? '',
      zh: cells.zh ?? '',
      zhVariants: splitList(cells.zh_variants, '|'),
      en: cells.en ?? '',
      enVariants: splitList(cells.en_variants, '|'),
      categories: categoriesList,
      weight,
    };
    if (!term.id || !term.zh || !term.en) throw new LexiconError(t.file, line, 'id, zh and en are required');
    addTerm(term, t.file, line);
    terms.push(term);
  }

  const m = readTsv(dir, 'makers.tsv');
  for (const { line, cells } of m.rows) {
    const term: Term = {
      type: 'maker',
      id: cells.id ?? '',
      zh: cells.zh ?? '',
      zhVariants: [],
      en: cells.en ?? '',
      enVariants: [],
      categories: splitList(cells.categories, ','),
      weight: 1,
    };
    for (const c of term.categories) if (!codes.has(c)) throw new LexiconError(m.file, line, `unknown category '${c}'`);
    addTerm(term, m.file, line);
    makers.push(term);
  }

  const q = readTsv(dir, 'ambiguous_queries.tsv');
  const ambiguousQueries = q.rows.map(({ line, cells }) => {
    const ids = splitList(cells.ids, '|');
    for (const id of ids) if (!byId.has(id)) throw new LexiconError(q.file, line, `unknown term id ${id}`);
    return { query: cells.query ?? '', ids };
  });

  const ty = readTsv(dir, 'typos.tsv');
  const typos = new Map<string, string[]>();
  for (const { cells } of ty.rows) typos.set(cells.char ?? '', splitList(cells.confusables, '|'));

  const lex: Lexicon = { categories, terms, makers, byId, ambiguousQueries, typos, zhSurface, enSurface };
  if (dir === lexiconDir) cached = lex;
  return lex;
}

/** Terms of a type that may occur in a category (terms with no categories occur everywhere). */
export function termsFor(lex: Lexicon, type: LexiconType, category: string): Term[] {
  return lex.terms.filter((t) => t.type === type && (t.categories.length === 0 || t.categories.includes(category)));
}
