import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../platform/paths';

/** The built CLI reports every error Curio raises on purpose as one plain message and a non-zero exit. */
const cli = join(projectRoot, 'dist', 'cli', 'main.js');

function curio(...args: string[]): { status: number | null; stderr: string } {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`make build\` first`);
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

describe('curio on bad input', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'curio-cli-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('train: invalid data is a validation message, not a stack trace', () => {
    const data = join(root, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'items.csv'), 'item_id,title\nit1,\n');
    const r = curio('train', data, '--artifacts', join(root, 'artifacts'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^curio: invalid input:\n {2}.*has no events table/);
    expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /);
  });

  it('an unknown option names itself and the help, without a stack trace', () => {
    const r = curio('ab-test', '--out', root);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^curio ab-test: Unknown option '--out'/);
    expect(r.stderr).toContain("Run 'curio ab-test --help' for its options.");
    expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /);
  });

  it('an unknown command lists the commands', () => {
    const r = curio('retrian');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^curio: unknown command 'retrian'/);
    expect(r.stderr).toContain('commands:');
  });
});
