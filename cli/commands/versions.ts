import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../platform/paths';
import { pinnedVersions } from '../../platform/versions';
import type { Command } from '../command';

export const versionsCommand: Command = {
  summary: 'print the pinned versions of every component',
  async run() {
    const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const [k, v] of Object.entries(pinnedVersions())) console.log(`${k.padEnd(28)} ${v}`);
    for (const [k, v] of Object.entries(pkg.dependencies)) console.log(`${k.padEnd(28)} ${v}`);
  },
};
