/**
 * Writes tagging/lexicon/makers.tsv: synthetic maker (artisan) names the tagger's dictionary knows.
 * The names are invented from common surname and given-name characters, never real people; the
 * generator also invents makers the dictionary does not know, which the tagger must catch by rule.
 *
 *   run from the repository root after `make build`: node dist/scripts/lexicon/makeMakers.js
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../data/generator/rng';
import { MAKER_CATEGORIES, inventMakerName } from '../../data/generator/makerNames';

const rng = new Rng(20260601, 7);
const seen = new Set<string>();
const rows = ['id\tzh\ten\tcategories'];
while (rows.length <= 400) {
  const name = inventMakerName(rng);
  // Two surnames can share a romanisation (徐/许 are both Xu): the Chinese name and the id must both be new.
  if (seen.has(name.zh) || seen.has(name.slug)) continue;
  seen.add(name.zh);
  seen.add(name.slug);
  const cats = rng.sample(MAKER_CATEGORIES, rng.bool(0.3) ? 2 : 1);
  rows.push(`maker.${name.slug}\t${name.zh}\t${name.en}\t${cats.join(',')}`);
}
writeFileSync(process.argv[2] ?? join('tagging', 'lexicon', 'makers.tsv'), rows.join('\n') + '\n');
console.log(`wrote ${rows.length - 1} makers`);
