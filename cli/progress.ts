import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { Progress } from '../models/training';

/**
 * How long local work shows its progress: on a terminal, one bar per training epoch (steps, loss,
 * time left) with log lines printed above it; in a log file or a pipe, plain lines — one at most
 * every `everyMs` and one at the end of each epoch — so a log stays readable.
 */
export interface ProgressReporter {
  /** A training step report (models/training.ts calls it at most every couple of seconds). */
  training(p: Progress): void;
  /** A line of its own: a stage starting or finishing. */
  log(message: string): void;
  /** Removes the bar (call before printing results). */
  stop(): void;
}

interface Output {
  write(text: string): boolean;
  isTTY?: boolean;
}

export function progressReporter(out: Output = process.stdout, everyMs = 5000): ProgressReporter {
  return out.isTTY ? new BarReporter(out as NodeJS.WritableStream) : new LineReporter(out, everyMs);
}

const epochLine = (p: Progress) => `${p.model} epoch ${p.epoch}/${p.epochs} step ${p.step}/${p.stepsPerEpoch} loss ${p.loss.toFixed(4)}`;

class LineReporter implements ProgressReporter {
  private last = 0;

  constructor(
    private readonly out: Output,
    private readonly everyMs: number,
  ) {}

  training(p: Progress): void {
    const now = Date.now();
    if (now - this.last < this.everyMs && p.step !== p.stepsPerEpoch) return;
    this.last = now;
    this.out.write(`  ${epochLine(p)}\n`);
  }

  log(message: string): void {
    this.out.write(`${message}\n`);
  }

  stop(): void {}
}

class BarReporter implements ProgressReporter {
  private readonly bars: MultiBar;
  private bar: SingleBar | undefined;
  private current = '';
  private last: Progress | undefined;

  constructor(stream: NodeJS.WritableStream) {
    this.bars = new MultiBar(
      {
        stream,
        format: '  {model} epoch {epoch}/{epochs} [{bar}] {percentage}% | step {value}/{total} | loss {loss} | {eta_formatted} left',
        hideCursor: true,
        clearOnComplete: false,
        // The bar is redrawn on a timer, so a slow step still shows the clock moving.
        fps: 5,
      },
      Presets.shades_classic,
    );
  }

  training(p: Progress): void {
    const id = `${p.model}/${p.epoch}`;
    const payload = { model: p.model, epoch: p.epoch, epochs: p.epochs, loss: p.loss.toFixed(4) };
    if (id !== this.current || !this.bar) {
      this.finishEpoch();
      this.current = id;
      this.bar = this.bars.create(p.stepsPerEpoch, p.step, payload);
    } else this.bar.update(p.step, payload);
    this.last = p;
  }

  /** A finished epoch leaves one line above the next epoch's bar. */
  private finishEpoch(): void {
    if (!this.bar) return;
    this.bars.remove(this.bar);
    if (this.last) this.bars.log(`  ${epochLine(this.last)}\n`);
    this.bar = undefined;
  }

  log(message: string): void {
    this.bars.log(`${message}\n`);
  }

  /** The last bar stays on screen as it was drawn last. */
  stop(): void {
    this.bars.stop();
  }
}
