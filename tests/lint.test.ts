import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../platform/paths';

/**
 * The lint rules `make test` runs (eslint.config.mjs) catch what they are there for. Probe files are
 * written into the real folders, because the rules are chosen by path, and removed afterwards.
 */
interface LintResult {
  filePath: string;
  messages: { ruleId: string | null; line: number; message: string }[];
}

function lint(files: Record<string, string>): LintResult[] {
  const paths = Object.keys(files).map((f) => join(projectRoot, f));
  try {
    for (const [f, text] of Object.entries(files)) writeFileSync(join(projectRoot, f), text);
    let out: string;
    try {
      out = execFileSync(process.execPath, [join(projectRoot, 'node_modules/eslint/bin/eslint.js'), '--format', 'json', ...paths], { cwd: projectRoot, encoding: 'utf8' });
    } catch (err) {
      // eslint exits 1 when it finds problems; the report is still on stdout.
      out = (err as { stdout: string }).stdout;
    }
    return JSON.parse(out) as LintResult[];
  } finally {
    for (const p of paths) rmSync(p, { force: true });
  }
}

const rules = (r: LintResult | undefined) => (r?.messages ?? []).map((m) => `${m.line}:${m.ruleId}`);

describe('lint', () => {
  it('refuses a floating promise anywhere and a Node module in workflow code', () => {
    const floating = "export async function save(): Promise<void> {}\nexport function run(): void {\n  save();\n}\n";
    const nodeInWorkflow = "import { readFileSync } from 'node:fs';\nimport * as path from 'path';\nexport const read = (): string => readFileSync(path.join('a'), 'utf8');\n";
    const [activity, workflow] = lint({ 'activities/zzLintProbe.ts': floating + nodeInWorkflow.replace(/read/g, 'load'), 'workflows/zzLintProbe.ts': nodeInWorkflow });
    // Outside workflows/ Node modules are fine; the un-awaited save() is not.
    expect(rules(activity)).toEqual(['3:@typescript-eslint/no-floating-promises']);
    expect(rules(workflow)).toEqual(['1:no-restricted-imports', '2:no-restricted-imports']);
  }, 120_000);
});
