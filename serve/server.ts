import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { Gauge, Histogram, Registry } from 'prom-client';
import { UnknownItemError, type RecallEngine } from './engine';
import type { NewLot } from './lotEmbedder';
import { RecentClicks } from './events';
import { RecallBatcher } from './batcher';

/**
 * The recall API over HTTP (fastify, a JSON schema on every route):
 * - POST /v1/recall {user_id?, history?, session?, k, category?, exclude?} → items with score and route;
 * - GET /v1/items/:id/similar?k=&category= → the live items nearest to one item;
 * - POST /v1/events {events: [{user_id, item_id}]} → recent clicks, used when a recall names only user_id;
 * - POST /v1/items {items: [{item_id, title, seller_id, start_price, category?, listed_at, ends_at}]} →
 *   lots listed since the retrain, tagged and embedded by the champion, searchable once answered
 *   (also how an auction that closes early is ended: post it again with its new ends_at);
 * - GET /healthz (the process answers), /readyz (a bundle is loaded), /metrics (Prometheus text).
 * Bodies that do not match the schema get 400 with the field and the reason.
 */

export interface ServerOptions {
  /** The bundle that answers now (undefined until one is loaded); read once per request. */
  engine: () => RecallEngine | undefined;
  /** When set, every /v1 route needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Largest k a request may ask for. */
  maxK?: number;
  events?: RecentClicks;
  /** The request's moment; tests pin it. */
  now?: () => number;
  /** Takes new lots (POST /v1/items); absent: the route answers 503. */
  lots?: (lots: NewLot[]) => Promise<LotsAccepted>;
  /** Most concurrent recall requests answered by one engine call (serve/batcher.ts); default 64. */
  maxBatch?: number;
  /** Where the service's own metrics live, so /metrics exports them beside the server's. */
  registry?: Registry;
}

export interface LotsAccepted {
  added: number;
  updated: number;
  version: string;
  /** The tags each lot was embedded with, in request order. */
  tags: string[][];
}

/** A lot the service cannot take: which one (its position in the request), the field and the reason. */
export class LotInputError extends Error {
  constructor(
    readonly lot: number,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const TIME = { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', minLength: 10, maxLength: 40 }] } as const;

/** Epoch ms of an ISO time or an epoch-ms number; NaN when neither. */
export function parseTime(v: number | string): number {
  return typeof v === 'number' ? v : Date.parse(v);
}

const ID = { type: 'string', minLength: 1, maxLength: 200 } as const;

/**
 * What a recall or similar-items answer holds (RecallAnswer). Declared so the answer is serialised by
 * fastify's compiled serializer, and so the API says its own shape; a field missing here would be
 * dropped from the answer, which tests/unit/serve.test.ts would see.
 */
const RECALL_ANSWER = {
  type: 'object',
  required: ['version', 'items', 'unknown'],
  properties: {
    version: { type: 'string' },
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'score', 'route', 'interest'],
        properties: { id: { type: 'string' }, score: { type: 'number' }, route: { type: 'string' }, interest: { type: 'integer' } },
      },
    },
    unknown: { type: 'array', items: { type: 'string' } },
  },
} as const;

export function buildServer(options: ServerOptions): FastifyInstance {
  const maxK = options.maxK ?? 200;
  const events = options.events ?? new RecentClicks();
  const now = options.now ?? Date.now;
  const app = Fastify({ logger: false, bodyLimit: 1 << 20, ajv: { customOptions: { removeAdditional: false, allErrors: false, coerceTypes: true } } });

  const registry = options.registry ?? new Registry();
  const batchSize = new Histogram({ name: 'curio_recall_batch_size', help: 'Recall requests answered by one engine call (concurrent requests are batched)', buckets: [1, 2, 4, 8, 16, 32, 64], registers: [registry] });
  const batcher = new RecallBatcher(now, { ...(options.maxBatch !== undefined ? { maxBatch: options.maxBatch } : {}), onBatch: (n) => batchSize.observe(n) });
  const latency = new Histogram({ name: 'curio_recall_request_seconds', help: 'Request latency by route and status', labelNames: ['route', 'status'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1], registers: [registry] });
  new Gauge({
    name: 'curio_index_items',
    help: 'Items in the loaded bundle’s index',
    registers: [registry],
    collect() {
      this.set(options.engine()?.size ?? 0);
    },
  });
  new Gauge({
    name: 'curio_bundle_info',
    help: 'The loaded bundle (label version); 0 when none is loaded',
    labelNames: ['version'],
    registers: [registry],
    collect() {
      this.reset();
      const e = options.engine();
      if (e) this.set({ version: e.version }, 1);
    },
  });
  new Gauge({ name: 'curio_recent_click_users', help: 'Users with recent clicks in memory', registers: [registry], collect() { this.set(events.size); } });

  app.addHook('onResponse', async (req, reply) => {
    latency.observe({ route: req.routeOptions.url ?? 'unknown', status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  if (options.token) {
    const expected = Buffer.from(`Bearer ${options.token}`);
    app.addHook('onRequest', async (req, reply) => {
      if (!req.url.startsWith('/v1/')) return;
      const given = Buffer.from(req.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return reply.code(401).send({ error: 'unauthorized', reason: 'a bearer token is required' });
    });
  }

  app.setErrorHandler((err: FastifyError, _req, reply) => {
    if (err.validation?.length) {
      const v = err.validation[0] as { instancePath: string; message?: string; params: Record<string, unknown> };
      const path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
      const field = [path, v.params.missingProperty ?? v.params.additionalProperty].filter((x) => x !== undefined && x !== '').join('.');
      const reason = v.params.additionalProperty !== undefined ? 'is not a field of this request' : (v.message ?? 'is invalid');
      return reply.code(400).send({ error: 'bad_request', in: err.validationContext, field: field || '(body)', reason });
    }
    if (err instanceof LotInputError) return reply.code(400).send({ error: 'bad_request', in: 'body', field: `items.${err.lot}.${err.field}`, reason: err.message });
    if (err.statusCode === 503) return reply.code(503).send({ error: 'unavailable', reason: err.message });
    if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ error: 'bad_request', reason: err.message });
    return reply.code(500).send({ error: 'internal', reason: err.message });
  });

  const ready = () => {
    const e = options.engine();
    if (!e) throw Object.assign(new Error('no bundle is loaded yet'), { statusCode: 503 });
    return e;
  };

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    const e = options.engine();
    return e ? { ready: true, version: e.version, items: e.size } : reply.code(503).send({ ready: false, reason: 'no bundle is loaded yet' });
  });
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  app.post<{ Body: { user_id?: string; history?: string[]; session?: string[]; k: number; category?: string; exclude?: string[] } }>(
    '/v1/recall',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['k'],
          properties: {
            user_id: ID,
            history: { type: 'array', items: ID, maxItems: 500 },
            session: { type: 'array', items: ID, maxItems: 200 },
            k: { type: 'integer', minimum: 1, maximum: maxK },
            category: ID,
            exclude: { type: 'array', items: ID, maxItems: 1000 },
          },
        },
        response: { 200: RECALL_ANSWER },
      },
    },
    async (req) => {
      const b = req.body;
      const engine = ready();
      // A request that names only the user gets the clicks the events route kept for them.
      const history = b.history ?? (b.user_id ? events.of(b.user_id) : []);
      return batcher.recall(engine, { history, session: b.session ?? [], k: b.k, ...(b.category ? { category: b.category } : {}), ...(b.exclude ? { exclude: b.exclude } : {}) });
    },
  );

  app.get<{ Params: { id: string }; Querystring: { k: number; category?: string } }>(
    '/v1/items/:id/similar',
    {
      schema: {
        params: { type: 'object', properties: { id: ID }, required: ['id'] },
        querystring: { type: 'object', additionalProperties: false, properties: { k: { type: 'integer', minimum: 1, maximum: maxK, default: 20 }, category: ID } },
        response: { 200: RECALL_ANSWER },
      },
    },
    async (req, reply) => {
      const engine = ready();
      try {
        return engine.similar(req.params.id, req.query.k, now(), req.query.category);
      } catch (err) {
        if (err instanceof UnknownItemError) return reply.code(404).send({ error: 'not_found', reason: err.message });
        throw err;
      }
    },
  );

  app.post<{ Body: { events: { user_id: string; item_id: string }[] } }>(
    '/v1/events',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['events'],
          properties: {
            events: { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'object', additionalProperties: false, required: ['user_id', 'item_id'], properties: { user_id: ID, item_id: ID } } },
          },
        },
        response: { 200: { type: 'object', required: ['accepted'], properties: { accepted: { type: 'integer' } } } },
      },
    },
    async (req) => {
      for (const e of req.body.events) events.add(e.user_id, e.item_id);
      return { accepted: req.body.events.length };
    },
  );

  app.post<{ Body: { items: { item_id: string; title: string; seller_id: string; start_price: number; category?: string; listed_at: number | string; ends_at: number | string }[] } }>(
    '/v1/items',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['items'],
          properties: {
            items: {
              type: 'array',
              minItems: 1,
              maxItems: 1000,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['item_id', 'title', 'seller_id', 'start_price', 'listed_at', 'ends_at'],
                properties: { item_id: ID, title: { type: 'string', minLength: 1, maxLength: 2000 }, seller_id: ID, start_price: { type: 'number', minimum: 0 }, category: { type: 'string', maxLength: 200 }, listed_at: TIME, ends_at: TIME },
              },
            },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['added', 'updated', 'version', 'tags'],
            properties: { added: { type: 'integer' }, updated: { type: 'integer' }, version: { type: 'string' }, tags: { type: 'array', items: { type: 'array', items: { type: 'string' } } } },
          },
        },
      },
    },
    async (req) => {
      if (!options.lots) throw Object.assign(new Error('this service takes no lots'), { statusCode: 503 });
      ready();
      const lots = req.body.items.map((it, i): NewLot => {
        const listedAt = parseTime(it.listed_at);
        const endsAt = parseTime(it.ends_at);
        if (!Number.isFinite(listedAt)) throw new LotInputError(i, 'listed_at', 'is not an ISO time or epoch milliseconds');
        if (!Number.isFinite(endsAt)) throw new LotInputError(i, 'ends_at', 'is not an ISO time or epoch milliseconds');
        if (endsAt <= listedAt) throw new LotInputError(i, 'ends_at', 'must be after listed_at');
        return { itemId: it.item_id, title: it.title, sellerId: it.seller_id, startPrice: it.start_price, category: it.category, listedAt, endsAt };
      });
      return options.lots(lots);
    },
  );

  return app;
}
