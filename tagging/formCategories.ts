import type { Lexicon } from './lexicon';

/**
 * Form categories as the data gives them. The category set is open: whatever the listing forms of a
 * dataset hold (film genres, "Eye Makeup", 玉器) is a category, not only the 12 of the lexicon. Names
 * are normalised so that spelling variants of one name are one category, and an optional synonym
 * table maps names the user knows to mean the same thing onto one canonical name.
 */

/** NFKC (full-width → ASCII), lower case, trimmed, inner whitespace collapsed to one space. */
export function normalizeCategoryName(raw: string): string {
  return raw.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * raw name → canonical name, both normalised. A canonical name of '' marks a placeholder the data
 * uses for "no category" ("n/a", "unknown"): those items count as unlabelled.
 */
export type CategorySynonyms = ReadonlyMap<string, string>;

/**
 * The synonym table of a dataset: with the lexicon in scope, each built-in category's Chinese and
 * English names stand for its code (玉器, Jade, jade → jade); the user's pairs come last and win.
 */
export function buildCategorySynonyms(userPairs: readonly (readonly [string, string])[], lex: Lexicon | undefined): CategorySynonyms {
  const table = new Map<string, string>();
  if (lex) {
    for (const c of lex.categories) {
      const code = normalizeCategoryName(c.code);
      for (const name of [c.code, c.zh, c.en]) if (name.trim()) table.set(normalizeCategoryName(name), code);
    }
  }
  for (const [raw, canonical] of userPairs) table.set(normalizeCategoryName(raw), normalizeCategoryName(canonical));
  return table;
}

/** The canonical form category of a raw value, or undefined when the item has none. */
export function canonicalFormCategory(raw: string | null | undefined, synonyms: CategorySynonyms): string | undefined {
  if (raw === null || raw === undefined) return undefined;
  const name = normalizeCategoryName(raw);
  if (!name) return undefined;
  const canonical = synonyms.get(name) ?? name;
  return canonical === '' ? undefined : canonical;
}
