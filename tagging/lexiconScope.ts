import type { Entity } from './entityRecognizer';

/**
 * Whether the cultural-artifact lexicon applies to a dataset. Its English names are ordinary words
 * ("jade", "dragon", "set", "natural", "dish"), so on a catalogue of films or cosmetics the
 * dictionary fires on words that mean something else ("Jade Empire" is no jade). One matching word
 * proves nothing; what marks an artifact title is that the lexicon reads several kinds of attribute
 * in it at once (a material and an object, an era and a craft). The coverage of a dataset is the
 * share of its titles in which the lexicon recognises entities of at least two different types;
 * below `minCoverage` the dictionary and the makers' marks are switched off for the whole dataset.
 * Measurements and years are generic rules and stay on.
 *
 * Measured (curio ingest + tagging): the synthetic marketplace 0.997 (zh, en and mixed titles alike);
 * MovieLens titles 0.000, Amazon beauty 0.043, Amazon toys 0.009. The default threshold, 0.25, sits
 * far from both: a marketplace where fewer than one title in four names two attributes the lexicon
 * knows is not the one it was written for, and chance collisions of common English words stay at a
 * few per cent. A per-title rule alone would not do: on a cosmetics catalogue "Silver Aluminum
 * Makeup Case" still reads as a material and an object.
 */

export type LexiconScopeMode = 'auto' | 'on' | 'off';
export const LEXICON_SCOPE_MODES = ['auto', 'on', 'off'] as const satisfies readonly LexiconScopeMode[];

export interface LexiconScope {
  inScope: boolean;
  mode: LexiconScopeMode;
  /** Share of titles with lexicon entities of ≥ 2 types (before the decision). */
  coverage: number;
  minCoverage: number;
  titles: number;
  reason: string;
}

/** Entity types that come from the domain lexicon (the dictionary and the makers' marks). */
export function isLexiconEntity(e: Entity): boolean {
  return e.type !== 'measurement';
}

export function lexiconCoverage(entities: readonly Entity[][]): number {
  if (entities.length === 0) return 0;
  let covered = 0;
  for (const es of entities) {
    const types = new Set<string>();
    for (const e of es) if (isLexiconEntity(e)) types.add(e.type);
    if (types.size >= 2) covered++;
  }
  return covered / entities.length;
}

export function decideLexiconScope(entities: readonly Entity[][], mode: LexiconScopeMode, minCoverage: number): LexiconScope {
  const coverage = lexiconCoverage(entities);
  const titles = entities.length;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  if (mode === 'on') return { inScope: true, mode, coverage, minCoverage, titles, reason: `forced on (coverage ${pct(coverage)})` };
  if (mode === 'off') return { inScope: false, mode, coverage, minCoverage, titles, reason: `forced off (coverage ${pct(coverage)})` };
  const inScope = coverage >= minCoverage;
  return {
    inScope,
    mode,
    coverage,
    minCoverage,
    titles,
    reason: `${pct(coverage)} of titles name ≥ 2 lexicon entity types, ${inScope ? 'at or above' : 'below'} the ${pct(minCoverage)} threshold`,
  };
}

/** A title's entities under the scope decision: everything in scope, only the generic rules outside it. */
export function entitiesInScope(entities: Entity[], scope: LexiconScope): Entity[] {
  return scope.inScope ? entities : entities.filter((e) => !isLexiconEntity(e));
}
