import { readdir, stat } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import { TrackingInputError } from './naming';

/** Files under `dir` as '/'-separated paths relative to it, sorted (symlinks to files included). */
export async function listFiles(dir: string): Promise<string[]> {
  const s = await stat(dir);
  if (!s.isDirectory()) throw new TrackingInputError(`${dir} is not a folder`);
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile() || (e.isSymbolicLink() && (await stat(full)).isFile())) out.push(relative(dir, full).split(sep).join(posix.sep));
    }
  };
  await walk(dir);
  return out.sort();
}
