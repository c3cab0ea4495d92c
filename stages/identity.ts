import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { datasetDigest, locateTables } from '../data/loadDataset';
import { lexiconDir } from '../tagging/lexicon';

/** What the data stages' keys are made of: the identity of a dataset folder and of the lexicon. */

/** Identity of a dataset folder, computed before loading so a finished load can be found and reused. */
export async function digestOfFolder(dir: string): Promise<string> {
  return datasetDigest(dir, locateTables(dir));
}

/** Identity of the domain dictionary: tagging output depends on it. */
export function lexiconDigest(): string {
  const h = createHash('sha256');
  for (const f of readdirSync(lexiconDir).filter((x) => x.endsWith('.tsv')).sort()) h.update(f).update(readFileSync(join(lexiconDir, f)));
  return h.digest('hex').slice(0, 20);
}
