import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { z } from 'zod';
import type { MlflowClient } from '../experiments/mlflowClient';
import { downloadBundle, loadBundle, resolveVersion, type BundleRef, type LoadedBundle } from './bundle';
import type { RecallEngine } from './engine';
import { LotCategoryError, type NewLot } from './lotEmbedder';
import { LotInputError, parseTime, type LotsAccepted } from './server';

/**
 * The recall service's moving parts around the HTTP layer: which bundle answers (the version behind
 * the registry alias, polled; a new one is downloaded and loaded beside the old and swapped in with
 * one reference assignment, the old disposed after a grace period), and the lots listed since the
 * retrain (POST /v1/items, or JSON lines dropped into a watched folder), which every bundle that
 * loads later gets too, so a swap never forgets a fresh lot.
 */

export interface ServiceOptions {
  client: MlflowClient;
  ref: BundleRef;
  cacheDir: string;
  /** How often the alias is checked; 0: never after the first load. */
  pollSeconds?: number;
  /** A folder of *.jsonl lot files, read as they grow. */
  watchDir?: string;
  watchSeconds?: number;
  /** How long a replaced bundle stays alive for requests that still hold it. */
  graceMs?: number;
  log?: (line: string) => void;
}

interface HeldLot extends NewLot {
  /** When the service first heard of it (ms): the freshness lag counts from here. */
  receivedAt: number;
}

const LotLine = z.object({
  item_id: z.string().min(1).max(200),
  title: z.string().min(1).max(2000),
  seller_id: z.string().min(1).max(200),
  start_price: z.number().min(0),
  category: z.string().max(200).optional(),
  listed_at: z.union([z.number().int().min(0), z.string()]),
  ends_at: z.union([z.number().int().min(0), z.string()]),
}).strict();

export class RecallService {
  readonly registry = new Registry();
  private current: LoadedBundle | undefined;
  private readonly lots = new Map<string, HeldLot>();
  private timers: NodeJS.Timeout[] = [];
  private swapping: Promise<void> | undefined;
  /** Per watched file: bytes consumed and lines consumed. */
  private readonly fileOffsets = new Map<string, { bytes: number; lines: number }>();
  private readonly lag: Histogram;
  private readonly swaps: Counter;
  private readonly log: (line: string) => void;

  constructor(private readonly options: ServiceOptions) {
    this.log = options.log ?? ((l) => process.stderr.write(`${l}\n`));
    this.lag = new Histogram({ name: 'curio_freshness_lag_seconds', help: 'From a lot reaching the service to it being searchable', buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 120], registers: [this.registry] });
    this.swaps = new Counter({ name: 'curio_bundle_swaps_total', help: 'Bundles loaded and swapped in', labelNames: ['outcome'], registers: [this.registry] });
    const lots = this.lots;
    new Gauge({ name: 'curio_fresh_lots', help: 'Lots listed since the retrain that the service added', registers: [this.registry], collect() { this.set(lots.size); } });
  }

  /** The engine answering now; read once per request. */
  engine = (): RecallEngine | undefined => this.current?.engine;

  get version(): string | undefined {
    return this.current?.label;
  }

  /** Where the loaded bundle's data ends (epoch ms), if one is loaded. */
  dataEnd(): number | undefined {
    return this.current?.dataEndMs;
  }

  /** Loads the version the reference names now, then starts polling and watching. */
  async start(): Promise<void> {
    await this.refresh();
    if (!this.current) this.log(`no version behind ${this.describeRef()} yet; /readyz answers 503 until one is set`);
    const poll = this.options.pollSeconds ?? 30;
    if (poll > 0) this.timers.push(setInterval(() => void this.refresh().catch((err: Error) => this.log(`bundle check failed (the current bundle keeps serving): ${err.message}`)), poll * 1000));
    if (this.options.watchDir) {
      const dir = this.options.watchDir;
      await this.scanFolder(dir);
      this.timers.push(setInterval(() => void this.scanFolder(dir).catch((err: Error) => this.log(`reading ${dir} failed: ${err.message}`)), (this.options.watchSeconds ?? 5) * 1000));
    }
    for (const t of this.timers) t.unref();
  }

  /** Swaps in the version behind the reference if it is not the one loaded. One swap at a time. */
  async refresh(): Promise<void> {
    if (this.swapping) return this.swapping;
    this.swapping = (async () => {
      const v = await resolveVersion(this.options.client, this.options.ref);
      if (!v) return;
      const label = `${v.name}/${v.version}`;
      if (label === this.current?.label) return;
      const t0 = Date.now();
      try {
        const { dir } = await downloadBundle(this.options.client, v, this.options.cacheDir);
        const next = await loadBundle(dir, label);
        // Lots the new bundle does not know yet: embedded by its own tower before it answers.
        const missing = [...this.lots.values()].filter((l) => !next.engine.has(l.itemId));
        if (missing.length) this.addTo(next, missing);
        const old = this.current;
        this.current = next;
        this.swaps.inc({ outcome: 'swapped' });
        this.log(`serving ${label} (${next.engine.size} items, ${missing.length} fresh lots carried over) after ${((Date.now() - t0) / 1000).toFixed(1)} s${old ? `; ${old.label} retires` : ''}`);
        if (old) setTimeout(() => old.engine.dispose(), this.options.graceMs ?? 10_000).unref();
      } catch (err) {
        this.swaps.inc({ outcome: 'failed' });
        throw err;
      }
    })().finally(() => {
      this.swapping = undefined;
    });
    return this.swapping;
  }

  /**
   * New or updated lots: tagged, embedded and indexed before this returns. `receivedAt` is when they
   * reached Curio (a watched file's modification time), default now.
   */
  async addLots(lots: NewLot[], receivedAt?: number): Promise<LotsAccepted> {
    const b = this.current;
    if (!b) throw Object.assign(new Error('no bundle is loaded yet'), { statusCode: 503 });
    const now = receivedAt ?? Date.now();
    const held = lots.map((l) => ({ ...l, receivedAt: this.lots.get(l.itemId)?.receivedAt ?? now }));
    const r = this.addTo(b, held);
    for (const l of held) {
      this.lots.set(l.itemId, l);
      this.lag.observe((Date.now() - l.receivedAt) / 1000);
    }
    return { ...r, version: b.label };
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.swapping?.catch(() => undefined);
    this.current?.engine.dispose();
    this.current = undefined;
  }

  private addTo(b: LoadedBundle, lots: readonly NewLot[]): { added: number; updated: number; tags: string[][] } {
    let embedded;
    try {
      embedded = b.embedder.embed(lots);
    } catch (err) {
      if (err instanceof LotCategoryError) throw new LotInputError(err.lot, 'category', err.message);
      throw err;
    }
    const r = b.engine.addLots({ itemIds: lots.map((l) => l.itemId), categories: embedded.categories, listedAt: lots.map((l) => l.listedAt), endsAt: lots.map((l) => l.endsAt), vectors: embedded.vectors });
    return { ...r, tags: embedded.tags };
  }

  /** Reads what each *.jsonl file gained since the last scan; a bad line is logged with its file, line and reason, and skipped. */
  private async scanFolder(dir: string): Promise<void> {
    if (!existsSync(dir) || !this.current) return;
    for (const name of readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort()) {
      const path = join(dir, name);
      const { size, mtimeMs } = statSync(path);
      const done = this.fileOffsets.get(path) ?? { bytes: 0, lines: 0 };
      const from = done.bytes;
      if (size <= from) continue;
      const text = readFileSync(path).subarray(from).toString('utf8');
      // Only whole lines: a writer may be half way through the last one.
      const end = text.lastIndexOf('\n') + 1;
      if (end === 0) continue;
      const firstLine = done.lines + 1;
      const lots: NewLot[] = [];
      text.slice(0, end).split('\n').forEach((line, k) => {
        if (!line.trim()) return;
        const where = `${path}:${firstLine + k}`;
        let parsed;
        try {
          parsed = LotLine.safeParse(JSON.parse(line));
        } catch (err) {
          this.log(`${where}: not JSON (${(err as Error).message}); skipped`);
          return;
        }
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          this.log(`${where}: ${issue?.path.join('.') || '(line)'}: ${issue?.message}; skipped`);
          return;
        }
        const l = parsed.data;
        const listedAt = parseTime(l.listed_at);
        const endsAt = parseTime(l.ends_at);
        if (!Number.isFinite(listedAt) || !Number.isFinite(endsAt) || endsAt <= listedAt) {
          this.log(`${where}: listed_at/ends_at must be times (ISO or epoch ms) with ends_at after listed_at; skipped`);
          return;
        }
        lots.push({ itemId: l.item_id, title: l.title, sellerId: l.seller_id, startPrice: l.start_price, category: l.category, listedAt, endsAt });
      });
      this.fileOffsets.set(path, { bytes: from + Buffer.byteLength(text.slice(0, end)), lines: done.lines + text.slice(0, end).split('\n').length - 1 });
      // One lot at a time where a batch fails, so one bad category does not drop its neighbours.
      try {
        if (lots.length) await this.addLots(lots, mtimeMs);
      } catch {
        for (const l of lots) await this.addLots([l], mtimeMs).catch((err: Error) => this.log(`${path}: lot ${l.itemId}: ${err.message}; skipped`));
      }
    }
  }

  private describeRef(): string {
    const r = this.options.ref;
    return r.version ? `${r.model} version ${r.version}` : `${r.model}@${r.alias ?? 'champion'}`;
  }
}
