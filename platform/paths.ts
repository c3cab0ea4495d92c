import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The repository root: the nearest folder above this file whose package.json is Curio's. */
function findProjectRoot(start: string): string {
  let dir = resolve(start);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const name = (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name;
      if (name === 'curio') return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find Curio's package.json above ${start}`);
    dir = parent;
  }
}

export const projectRoot = findProjectRoot(__dirname);
export const toolsDir = resolve(process.env.CURIO_TOOLS_DIR ?? join(projectRoot, '.tools'));
export const dataDir = resolve(process.env.CURIO_DATA_DIR ?? join(projectRoot, '.data'));
export const logDir = join(dataDir, 'logs');
export const runDir = join(dataDir, 'run');
export const sqlDir = join(projectRoot, 'sql');

export const temporalBinary = resolve(process.env.CURIO_TEMPORAL_BIN ?? join(toolsDir, 'bin', 'temporal'));
export const mlflowVenv = join(toolsDir, 'mlflow-venv');
export const mlflowBinary = join(mlflowVenv, 'bin', 'mlflow');
export const mlflowPython = join(mlflowVenv, 'bin', 'python');
