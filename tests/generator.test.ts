import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateMarketplace, type GenerateSummary } from '../data/generator/generate';
import { loadDataset } from '../data/loadDataset';
import { openDatabase } from '../platform/duckdb';
import { loadLexicon } from '../tagging/lexicon';

/** The synthetic marketplace reproduces the platform's hard parts, deterministically for a seed. */
describe('synthetic marketplace (tiny)', () => {
  let root: string;
  let a: GenerateSummary;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'curio-gen-'));
    a = await generateMarketplace({ scale: 'tiny', seed: 11, out: join(root, 'a') });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const digestOf = (dir: string) => {
    const h = createHash('sha256');
    const walk = (d: string) => {
      for (const f of readdirSync(d, { withFileTypes: true }).sort((x, y) => x.name.localeCompare(y.name))) {
        if (f.isDirectory()) walk(join(d, f.name));
        else if (f.name.endsWith('.parquet')) h.update(f.name).update(readFileSync(join(d, f.name)));
      }
    };
    walk(dir);
    return h.digest('hex');
  };

  async function query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const db = await openDatabase(':memory:');
    try {
      return (await db.connection.runAndReadAll(sql.replaceAll('$DIR', join(root, 'a')))).getRowObjectsJS() as T[];
    } finally {
      db.close();
    }
  }

  it('is deterministic for a seed and differs across seeds', async () => {
    const b = await generateMarketplace({ scale: 'tiny', seed: 11, out: join(root, 'b') });
    await generateMarketplace({ scale: 'tiny', seed: 12, out: join(root, 'c') });
    expect(b.events).toBe(a.events);
    expect(digestOf(join(root, 'b'))).toBe(digestOf(join(root, 'a')));
    expect(digestOf(join(root, 'c'))).not.toBe(digestOf(join(root, 'a')));
  });

  it('has the tiny scale and passes the data contract', async () => {
    expect(a.items).toBe(2000);
    expect(a.users).toBe(500);
    expect(a.events).toBeGreaterThan(10_000);
    const report = await loadDataset({ dir: join(root, 'a'), out: join(root, 'a.duckdb') });
    expect(report.rows.items).toBe(2000);
    expect(report.rows.events).toBe(a.events);
    expect(report.rows.searches).toBe(a.searches);
  });

  it('writes free-text titles with synonyms, typos and measurements, and no structured taxonomy for most items', async () => {
    const lex = loadLexicon();
    const truth = await query<{ ids: string[]; surfaces: string[]; types: string[] }>(
      "SELECT term_ids AS ids, term_surfaces AS surfaces, term_types AS types FROM '$DIR/truth/items.parquet'",
    );
    let canonical = 0;
    let variant = 0;
    let other = 0;
    for (const t of truth) {
      t.ids.forEach((id, k) => {
        const term = lex.byId.get(id);
        if (!term) return;
        const s = t.surfaces[k] as string;
        if (s === term.zh) canonical++;
        else if (term.zhVariants.includes(s)) variant++;
        else other++; // a typo
      });
    }
    expect(variant / (canonical + variant + other)).toBeGreaterThan(0.05);
    expect(other).toBeGreaterThan(0);
    expect(truth.filter((t) => t.types.includes('measurement')).length / truth.length).toBeGreaterThan(0.4);
    const [form] = await query<{ share: number }>("SELECT avg(CASE WHEN category IS NULL THEN 1 ELSE 0 END) AS share FROM '$DIR/items.parquet'");
    expect(form?.share).toBeGreaterThan(0.4);
  });

  it('has short lifecycles: most items clicked in the last days did not exist in the first 80% of the period', async () => {
    const [r] = await query<{ cold: number }>(`
      WITH span AS (SELECT min(ts) + (max(ts) - min(ts)) * 0.8 AS cut FROM '$DIR/events/*.parquet')
      SELECT avg(CASE WHEN i.listed_at >= (SELECT cut FROM span) THEN 1 ELSE 0 END) AS cold
      FROM '$DIR/events/*.parquet' e JOIN '$DIR/items.parquet' i USING (item_id)
      WHERE e.event_type = 'click' AND e.ts >= (SELECT cut FROM span)`);
    expect(r?.cold).toBeGreaterThan(0.5);
  });

  it('has users with several interests and sessions that mix them', async () => {
    const [u] = await query<{ multi: number; maxk: number }>(
      "SELECT avg(CASE WHEN len(interests) > 1 THEN 1 ELSE 0 END) AS multi, max(len(interests)) AS maxk FROM '$DIR/truth/users.parquet'",
    );
    expect(u?.multi).toBeGreaterThan(0.6);
    expect(Number(u?.maxk)).toBe(5);
    // Sessions (by logged session id) whose clicks span two or more topics.
    const [s] = await query<{ mixed: number }>(`
      WITH c AS (
        SELECT e.session_id, count(DISTINCT t.topic_id) AS topics
        FROM '$DIR/events/*.parquet' e JOIN '$DIR/truth/items.parquet' t USING (item_id)
        WHERE e.event_type = 'click' AND e.session_id IS NOT NULL GROUP BY 1 HAVING count(*) >= 3)
      SELECT avg(CASE WHEN topics >= 2 THEN 1 ELSE 0 END) AS mixed FROM c`);
    expect(s?.mixed).toBeGreaterThan(0.3);
  });

  it('logs searches followed by clicks, some with ambiguous keywords', async () => {
    const [r] = await query<{ searches: bigint; clicked: bigint }>(`
      SELECT count(DISTINCT s.search_id) AS searches, count(DISTINCT e.search_id) AS clicked
      FROM '$DIR/searches.parquet' s LEFT JOIN '$DIR/events/*.parquet' e ON e.search_id = s.search_id AND e.event_type = 'click'`);
    expect(Number(r?.clicked)).toBeGreaterThan(Number(r?.searches) * 0.3);
    const lex = loadLexicon();
    const queries = await query<{ query: string }>("SELECT DISTINCT query FROM '$DIR/searches.parquet'");
    const ambiguous = new Set(lex.ambiguousQueries.map((q) => q.query));
    expect(queries.some((q) => ambiguous.has(q.query))).toBe(true);
  });

  it('makes image embeddings follow the latent style: closer within a topic than across topics', async () => {
    const [r] = await query<{ within: number; across: number }>(`
      WITH x AS (
        SELECT i.item_id, t.topic_id, i.image_embedding AS v
        FROM '$DIR/items.parquet' i JOIN '$DIR/truth/items.parquet' t USING (item_id) USING SAMPLE 400 ROWS (reservoir, 5))
      SELECT avg(list_cosine_similarity(a.v, b.v)) FILTER (WHERE a.topic_id = b.topic_id) AS within,
             avg(list_cosine_similarity(a.v, b.v)) FILTER (WHERE a.topic_id <> b.topic_id) AS across
      FROM x a JOIN x b ON a.item_id < b.item_id`);
    expect((r?.within ?? 0) - (r?.across ?? 0)).toBeGreaterThan(0.3);
  });
});
