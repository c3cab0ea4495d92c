import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { produceStage, readManifest } from '../../stages/artifacts';

/** A promise the test resolves when it wants the attempt to go on. */
function gate(): { open: () => void; wait: Promise<void> } {
  let open = () => {};
  const wait = new Promise<void>((r) => (open = r));
  return { open, wait };
}

describe('content-addressed stage folders', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'curio-artifacts-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('gives each attempt its own scratch, seeded from the last one, and publishes the first to finish', async () => {
    const late = gate();
    const checkpointed = gate();
    // Attempt 1 checkpoints, then hangs (its worker alive, its heartbeat timed out).
    const first = produceStage(
      root,
      'train',
      'k1',
      async ({ out, scratch }) => {
        mkdirSync(join(scratch, 'model', 'epoch-1'), { recursive: true });
        writeFileSync(join(scratch, 'model', 'epoch-1', 'meta.json'), '{"epoch":1}');
        checkpointed.open();
        await late.wait;
        // What it writes after its retry finished (a checkpoint recreates its folders) lands in its own folders only.
        mkdirSync(join(scratch, 'model', 'epoch-2'), { recursive: true });
        writeFileSync(join(scratch, 'model', 'epoch-2', 'meta.json'), '{"epoch":2}');
        writeFileSync(join(out, 'result.txt'), 'from attempt 1');
        return { attempt: 1 };
      },
      { attempt: 'attempt-1-a' },
    );
    await checkpointed.wait;

    // Its retry resumes from the checkpoint, in a scratch folder of its own, and finishes first.
    let seeded = false;
    const second = await produceStage(
      root,
      'train',
      'k1',
      async ({ out, scratch }) => {
        expect(scratch).not.toBe(join(root, 'train', 'k1.scratch', 'attempt-1-a'));
        seeded = existsSync(join(scratch, 'model', 'epoch-1', 'meta.json'));
        writeFileSync(join(out, 'result.txt'), 'from attempt 2');
        return { attempt: 2 };
      },
      { attempt: 'attempt-2-b' },
    );
    expect(seeded).toBe(true);
    expect(second.reused).toBe(false);
    expect(readFileSync(join(second.dir, 'result.txt'), 'utf8')).toBe('from attempt 2');

    // The late attempt finishes afterwards: it finds the published folder, keeps it, discards its own.
    late.open();
    const firstDone = await first;
    expect(firstDone.reused).toBe(true);
    expect(firstDone.manifest.report).toEqual({ attempt: 2 });
    expect(readFileSync(join(second.dir, 'result.txt'), 'utf8')).toBe('from attempt 2');
    expect(readManifest(second.dir)?.report).toEqual({ attempt: 2 });
    expect(readdirSync(join(root, 'train')).sort()).toEqual(['k1']);
  });

  it('keeps a failed attempt’s checkpoints for the next one and drops its partial output', async () => {
    await expect(
      produceStage(root, 'train', 'k2', async ({ out, scratch }) => {
        writeFileSync(join(out, 'partial.txt'), 'half');
        mkdirSync(join(scratch, 'm', 'epoch-3'), { recursive: true });
        writeFileSync(join(scratch, 'm', 'epoch-3', 'meta.json'), '{}');
        // A checkpoint caught mid-write is not copied to the next attempt.
        mkdirSync(join(scratch, 'm', 'epoch-4.tmp-123'), { recursive: true });
        throw new Error('worker lost');
      }),
    ).rejects.toThrow('worker lost');
    expect(readdirSync(join(root, 'train')).sort()).toEqual(['k2.scratch']);
    const retry = await produceStage(root, 'train', 'k2', async ({ scratch }) => ({
      resumed: existsSync(join(scratch, 'm', 'epoch-3', 'meta.json')),
      halfWritten: existsSync(join(scratch, 'm', 'epoch-4.tmp-123')),
    }));
    expect(retry.manifest.report).toEqual({ resumed: true, halfWritten: false });
    expect(readdirSync(join(root, 'train')).sort()).toEqual(['k2']);
    expect(Object.keys(retry.manifest.files)).toEqual([]);
  });

  it('returns a finished folder without running, and replaces a folder that has no manifest', async () => {
    mkdirSync(join(root, 'train', 'k3'), { recursive: true });
    writeFileSync(join(root, 'train', 'k3', 'junk.txt'), 'not a stage output');
    const made = await produceStage(root, 'train', 'k3', async ({ out }) => {
      writeFileSync(join(out, 'a.txt'), 'a');
      return 1;
    });
    expect(Object.keys(made.manifest.files)).toEqual(['a.txt']);
    expect(existsSync(join(made.dir, 'junk.txt'))).toBe(false);
    const again = await produceStage(root, 'train', 'k3', async () => {
      throw new Error('must not run');
    });
    expect(again).toMatchObject({ reused: true, dir: made.dir });
  });
});
