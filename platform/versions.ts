import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './paths';

/** Pinned component versions, from the same file the install scripts source. */
export function pinnedVersions(): Record<string, string> {
  const text = readFileSync(join(projectRoot, 'scripts', 'versions.env'), 'utf8');
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) out[m[1]] = m[2].replace(/^"|"$/g, '');
  }
  return out;
}
