import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../platform/paths';

/**
 * No module imports itself back, directly or around a loop, type-only imports included: a cycle
 * means two modules are one concern split in two (or one leaks into the other), and a runtime cycle
 * hands one of them a half-initialised module.
 */
// Every source folder the compiler sees (a new folder is covered without editing this test), tests aside.
const SOURCE_FOLDERS = (JSON.parse(readFileSync(join(projectRoot, 'tsconfig.json'), 'utf8')) as { include: string[] }).include.filter((f) => f !== 'tests');

function importCycles(): { modules: number; cycles: string[][] } {
  const out = execFileSync(process.execPath, [join(__dirname, '..', 'helpers', 'importCycles.js'), projectRoot, ...SOURCE_FOLDERS], { cwd: projectRoot, encoding: 'utf8' });
  return JSON.parse(out) as { modules: number; cycles: string[][] };
}

describe('the import graph', () => {
  it('has no cycles', () => {
    const { modules, cycles } = importCycles();
    expect(modules).toBeGreaterThan(100);
    expect(cycles.map((c) => c.join(' -> '))).toEqual([]);
  });
});
