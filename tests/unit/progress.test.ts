import { Writable } from 'node:stream';
import { progressReporter } from '../../cli/progress';
import type { Progress } from '../../models/training';

/** A stream that keeps what was written; `tty` makes it look like a terminal. */
function sink(tty: boolean): Writable & { text: () => string; isTTY?: boolean; columns?: number } {
  const chunks: string[] = [];
  const s = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as Writable & { text: () => string; isTTY?: boolean; columns?: number };
  if (tty) {
    s.isTTY = true;
    s.columns = 160;
  }
  s.text = () => chunks.join('');
  return s;
}

const step = (epoch: number, n: number, of = 10): Progress => ({ model: 'item_unit', epoch, epochs: 2, step: n, stepsPerEpoch: of, loss: 0.5 / epoch });

describe('progress of local work', () => {
  it('writes plain lines in a log: one per interval and one per finished epoch', () => {
    const out = sink(false);
    const p = progressReporter(out, 60_000);
    p.log('item_embedding: starting');
    for (let i = 1; i <= 10; i++) p.training(step(1, i));
    p.stop();
    expect(out.text().split('\n').filter(Boolean)).toEqual([
      'item_embedding: starting',
      '  item_unit epoch 1/2 step 1/10 loss 0.5000',
      '  item_unit epoch 1/2 step 10/10 loss 0.5000',
    ]);
  });

  it('draws a bar per epoch on a terminal, and leaves one line per finished epoch above it', async () => {
    const out = sink(true);
    const p = progressReporter(out);
    for (let i = 1; i <= 10; i++) p.training(step(1, i));
    p.training(step(2, 4));
    p.log('a stage line');
    // The bar is redrawn on a timer (5 frames a second).
    await new Promise((r) => setTimeout(r, 450));
    p.stop();
    const text = out.text();
    // A bar: the model, the epoch, the bar itself and the percentage, redrawn in place.
    expect(text).toMatch(/item_unit epoch 2\/2 \[[█░]+\] 40% \| step 4\/10 \| loss 0\.2500/);
    expect(text).toContain('\u001b[');
    expect(text).toContain('  item_unit epoch 1/2 step 10/10 loss 0.5000\n');
    expect(text).toContain('a stage line\n');
  });
});
