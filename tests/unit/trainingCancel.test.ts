import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { latestCheckpoint, train, type Progress } from '../../models/training';
import { tf } from '../../platform/tf';
import { toyRegression, type ToyBatch } from '../helpers/toyRegression';

/** Enough steps to cancel in the middle of an epoch. */
function toyTraining(signal: AbortSignal, checkpointDir: string, onProgress: (p: Progress) => void) {
  const { spec } = toyRegression(4096, 8);
  const run = train<ToyBatch>({ ...spec, epochs: 3, batchSize: 16, seed: 1, checkpointDir, onProgress, progressEveryMs: 0, signal });
  return { run };
}

describe('training cancellation', () => {
  it('stops between two steps once the signal aborts, with the signal’s reason and no batch left behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'curio-cancel-'));
    try {
      const controller = new AbortController();
      const seen: Progress[] = [];
      const before = tf.memory().numTensors;
      const { run } = toyTraining(controller.signal, join(dir, 'ckpt'), (p) => {
        seen.push(p);
        // Cancelled in the middle of the second epoch, after the first one checkpointed.
        if (p.epoch === 2 && p.step === 20) controller.abort(new Error('the retrain was aborted'));
      });
      await expect(run).rejects.toThrow('the retrain was aborted');
      const last = seen[seen.length - 1] as Progress;
      // The loop checks before each step: the step after the abort never ran.
      expect({ epoch: last.epoch, step: last.step }).toEqual({ epoch: 2, step: 20 });
      expect(latestCheckpoint(join(dir, 'ckpt'))?.epoch).toBe(1);
      expect(readdirSync(join(dir, 'ckpt'))).toEqual(['epoch-1']);
      // Only what the caller owns (data, model, optimizer state) is still allocated: no batch leaked.
      const leaked = tf.memory().numTensors - before;
      expect(leaked).toBeLessThanOrEqual(2 + 2 + 2 * 3 + 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
