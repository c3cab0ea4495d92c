/**
 * npm run bench:serve [-- --seconds 10] [--model curio-recall] [--alias champion] [--scales small,medium] [--max-batch 1,64]
 *
 * The recall API (curio serve's server) under autocannon: p50/p99 latency and requests/s of
 * POST /v1/recall (k = 50, a 5-click history) at 1, 16 and 64 connections, each point after 2 s of
 * unmeasured load at its connection count, with the service in its own process (forked from this
 * one, with curio serve's thread counts) so the load generator does not share its event loop. Each
 * catalogue is measured with every --max-batch: 1 answers each request alone, 64 answers up to 64
 * concurrent requests in one engine call (serve/batcher.ts, curio serve's default).
 *   trained    the bundle behind MODEL@ALIAS in the local MLflow (after `make demo`: the small
 *              marketplace's champion), loaded through the artifact API as curio serve loads it;
 *              plus the freshness lag (POST /v1/items of 1 and of 100 lots until searchable) and memory.
 *   synthetic  catalogues of the small (20k) and medium (100k) scales' size: seeded categorised item
 *              vectors (bench/categorisedVectors.ts) and the history-clustering user model, all lots
 *              live; what latency does with catalogue size, no training needed. --scales '' skips them.
 * Target (issue 14): p99 <= 20 ms at 16 connections on small.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { withServeThreads } from '../cli/nativeThreads';
import { Rng } from '../data/generator/rng';
import { MlflowClient } from '../experiments/mlflowClient';
import { DEFAULT_MODEL_NAME } from '../experiments/registry';
import { DEFAULT_HISTORY_CLUSTERS, historyClusterModel } from '../models/historyClusters';
import { loadSettings } from '../platform/settings';
import { RecallEngine } from '../serve/engine';
import { buildServer } from '../serve/server';
import { RecallService } from '../serve/service';
import { categorisedItems } from './categorisedVectors';

interface Ready {
  port: number;
  label: string;
  items: number;
  rssMb: number;
  histories: string[][];
  /** A title and category the bundle knows, for the freshness lots (trained only). */
  lotTemplate?: { title: string; category: string };
  now: number;
}

const SYNTHETIC = { small: 20_000, medium: 100_000 } as const;
const WARM_UP_SECONDS = 2;

/** The service side: build, listen, tell the parent. */
async function target(spec: string, maxBatch: number): Promise<void> {
  const [kind, arg] = spec.split(':') as [string, string];
  let app;
  let ready: Omit<Ready, 'port'>;
  if (kind === 'trained') {
    const [model, alias] = arg.split('@') as [string, string];
    const cache = mkdtempSync(join(tmpdir(), 'curio-bench-serve-'));
    const service = new RecallService({ client: new MlflowClient(loadSettings().mlflowTrackingUri), ref: { model, alias }, cacheDir: cache, pollSeconds: 0, log: () => {} });
    await service.start();
    const engine = service.engine();
    if (!engine) throw new Error(`no version behind ${model}@${alias} in the MLflow at ${loadSettings().mlflowTrackingUri}: run make demo first`);
    const now = service.dataEnd() as number;
    app = buildServer({ engine: service.engine, now: () => now, registry: service.registry, lots: (l) => service.addLots(l), maxK: 200, maxBatch });
    const probe = engine.recall({ history: [], session: [], k: 200, now });
    const ids = probe.items.map((x) => x.id);
    const rng = new Rng(5, 1);
    process.on('exit', () => rmSync(cache, { recursive: true, force: true }));
    ready = { label: `trained ${service.version}`, items: engine.size, rssMb: 0, lotTemplate: { title: 'bench lot: an old celadon vase, Qing style', category: engine.categoryOf(ids[0] as string) }, histories: Array.from({ length: 200 }, () => Array.from({ length: 5 }, () => rng.pick(ids))), now };
  } else {
    const n = SYNTHETIC[arg as keyof typeof SYNTHETIC];
    const dim = 64;
    const items = categorisedItems(n, dim, 3, { topicsPerCategory: 8 });
    const rng = new Rng(9, 1);
    const popularity = Float64Array.from({ length: n }, () => Math.floor(rng.next() * 50));
    const engine = RecallEngine.build({
      version: `synthetic-${arg}`,
      catalogue: { itemIds: items.itemIds, categories: items.itemCategories, listedAt: new Float64Array(n), endsAt: new Float64Array(n).fill(8.64e15) },
      vectors: { dim, vectors: items.vectors },
      model: historyClusterModel(items.vectors, dim, DEFAULT_HISTORY_CLUSTERS),
      popularity,
    });
    app = buildServer({ engine: () => engine, now: () => 1, maxK: 200, maxBatch });
    ready = { label: `synthetic ${arg}`, items: n, rssMb: 0, histories: Array.from({ length: 200 }, () => Array.from({ length: 5 }, () => `it${Math.floor(rng.next() * n)}`)), now: 1 };
  }
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.send?.({ ...ready, port, rssMb: process.memoryUsage().rss / 2 ** 20 });
  process.on('message', (m: string) => {
    if (m === 'rss') process.send?.({ rssMb: process.memoryUsage().rss / 2 ** 20 });
  });
}

function nextMessage<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('exit', (code) => reject(new Error(`the service process exited (${code}) before it was ready`)));
  });
}

async function load(port: number, histories: string[][], connections: number, seconds: number) {
  let k = 0;
  const r = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/v1/recall',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: JSON.stringify({ history: histories[k++ % histories.length], k: 50 }) }),
      },
    ],
  });
  return { p50: r.latency.p50, p99: r.latency.p99, rps: r.requests.average, errors: r.errors + r.timeouts + r.non2xx };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      seconds: { type: 'string', default: '10' },
      model: { type: 'string', default: DEFAULT_MODEL_NAME },
      alias: { type: 'string', default: 'champion' },
      scales: { type: 'string', default: 'small,medium' },
      'max-batch': { type: 'string', default: '1,64' },
    },
  });
  if (values.target) return target(values.target, Number(values['max-batch']));
  const batches = values['max-batch'].split(',').map(Number);
  if (batches.some((b) => !Number.isInteger(b) || b < 1)) throw new Error(`--max-batch takes positive integers, got ${values['max-batch']}`);
  const seconds = Number(values.seconds);
  const scales = values.scales.split(',').filter((s) => s !== '');
  const unknown = scales.find((s) => !(s in SYNTHETIC));
  if (unknown !== undefined) throw new Error(`--scales takes ${Object.keys(SYNTHETIC).join(', ')} (comma-separated, or '' for the trained bundle alone), got ${unknown}`);
  const targets = [`trained:${values.model}@${values.alias}`, ...scales.map((s) => `synthetic:${s}`)];
  console.log(`bench:serve: POST /v1/recall k=50, 5-click histories, ${seconds} s per point, service in its own process (${process.platform}, ${(await import('node:os')).cpus().length} cores)`);
  console.log('catalogue                                  items  conns   p50 ms   p99 ms    req/s  errors');
  for (const spec of targets) for (const maxBatch of batches) {
    // As curio serve runs (cli/nativeThreads.ts): Faiss, OpenBLAS and TensorFlow single-threaded unless set.
    const env = withServeThreads(process.env);
    const child = fork(__filename, ['--target', spec, '--max-batch', String(maxBatch)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    let ready: Ready;
    try {
      ready = await nextMessage<Ready>(child);
    } catch (err) {
      console.log(`${spec}: not measured: ${(err as Error).message}${stderr ? `\n  ${stderr.trim().split('\n').slice(-3).join('\n  ')}` : ''}`);
      continue;
    }
    try {
      for (const c of [1, 16, 64]) {
        // Unmeasured first: V8 optimises the batched paths and the caches fill, as in a service that has run a while.
        await load(ready.port, ready.histories, c, WARM_UP_SECONDS);
        const r = await load(ready.port, ready.histories, c, seconds);
        console.log(`${`${ready.label}, batch<=${maxBatch}`.padEnd(40)} ${String(ready.items).padStart(7)}  ${String(c).padStart(5)}  ${r.p50.toFixed(1).padStart(7)}  ${r.p99.toFixed(1).padStart(7)}  ${r.rps.toFixed(0).padStart(7)}  ${String(r.errors).padStart(6)}`);
      }
      if (spec.startsWith('trained') && maxBatch === batches[batches.length - 1]) await freshness(ready);
      child.send('rss');
      const { rssMb } = await nextMessage<{ rssMb: number }>(child);
      console.log(`${ready.label}: memory ${ready.rssMb.toFixed(0)} MB resident after loading, ${rssMb.toFixed(0)} MB after the load`);
    } finally {
      child.kill('SIGTERM');
    }
  }
}

/** New lots through POST /v1/items: the answer comes once they are indexed, so its round trip is the lag to searchable. */
async function freshness(ready: Ready): Promise<void> {
  const base = `http://127.0.0.1:${ready.port}`;
  for (const size of [1, 100]) {
    const lots = Array.from({ length: size }, (_, i) => ({ item_id: `bench-lot-${size}-${i}`, title: ready.lotTemplate?.title ?? `bench lot ${i}`, seller_id: 'bench-seller', start_price: 100 + i, ...(ready.lotTemplate?.category ? { category: ready.lotTemplate.category } : {}), listed_at: ready.now - 1000, ends_at: ready.now + 86_400_000 }));
    const t0 = performance.now();
    const res = await fetch(`${base}/v1/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items: lots }) });
    const ms = performance.now() - t0;
    const body = (await res.json()) as { added?: number; reason?: string };
    const found = (await fetch(`${base}/v1/items/${lots[size - 1]?.item_id}/similar?k=5`)).status === 200;
    console.log(`${ready.label}: freshness: ${size} new lot(s) tagged, embedded and searchable ${ms.toFixed(0)} ms after the POST (${res.status === 200 ? `added ${body.added}` : `refused: ${body.reason}`}; similar answers: ${found ? 'yes' : 'no'})`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
