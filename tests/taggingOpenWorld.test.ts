import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset } from '../data/loadDataset';
import { openDatabase } from '../platform/duckdb';
import { isLatinStopWord } from '../tagging/latinAnalyzer';
import { UNCATEGORISED } from '../tagging/assignCategories';
import { DEFAULT_TAGGING, tagCatalogue, type TaggingParams, type TaggingReport } from '../tagging/tagItems';

/**
 * Tagging on data the lexicon was not written for: contract-shaped folders written here (never the
 * public datasets), loaded with the real loader, tagged into a real DuckDB file, clustered with Faiss.
 */

interface FixtureItem {
  title: string;
  category?: string | null;
}

const csv = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** A contract folder: items (with a category column when any item has one) and one click per item. */
function writeDataset(dir: string, items: FixtureItem[]): void {
  mkdirSync(dir, { recursive: true });
  const withCategory = items.some((it) => it.category !== undefined);
  const header = ['item_id', 'title', 'seller_id', 'start_price', 'listed_at', 'auction_ends_at', ...(withCategory ? ['category'] : [])];
  const rows = items.map((it, i) =>
    [`it${String(i).padStart(4, '0')}`, csv(it.title), `s${i % 7}`, '10', '2026-06-01 10:00:00', '2026-06-03 10:00:00', ...(withCategory ? [csv(it.category ?? '')] : [])].join(','),
  );
  writeFileSync(join(dir, 'items.csv'), [header.join(','), ...rows].join('\n') + '\n');
  const events = items.map((_, i) => `u${i % 13},it${String(i).padStart(4, '0')},click,2026-06-01 12:00:00,feed`);
  writeFileSync(join(dir, 'events.csv'), ['user_id,item_id,event_type,ts,source', ...events].join('\n') + '\n');
}

async function query(db: string, sql: string): Promise<Record<string, unknown>[]> {
  const d = await openDatabase(db, { access_mode: 'READ_ONLY' });
  try {
    return (await d.connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    d.close();
  }
}

async function tagFixture(root: string, name: string, items: FixtureItem[], params: Partial<TaggingParams> = {}): Promise<{ db: string; report: TaggingReport }> {
  writeDataset(join(root, name), items);
  await loadDataset({ dir: join(root, name), out: join(root, `${name}.duckdb`) });
  const db = join(root, `${name}-tags.duckdb`);
  const report = await tagCatalogue(join(root, `${name}.duckdb`), db, { ...DEFAULT_TAGGING, ...params });
  return { db, report };
}

/** Deterministic pseudo-random choice, so fixtures do not depend on Math.random. */
const pick = <T>(xs: readonly T[], i: number, salt: number): T => xs[(i * 7919 + salt * 104729 + ((i * salt) % 13)) % xs.length] as T;

const THEMES = {
  tea: { words: ['puer', 'oolong', 'leaf', 'brew', 'kettle', 'infusion'], form: ['Loose Tea', '  loose   TEA ', 'ＬＯＯＳＥ Tea'] },
  prints: { words: ['woodblock', 'etching', 'lithograph', 'engraving', 'poster', 'ukiyo'], form: ['Fine Art Prints', 'fine art prints'] },
  lamps: { words: ['lamp', 'lantern', 'sconce', 'bulb', 'shade', 'chandelier'], form: ['Desk Lamps', 'Lamps'] },
} as const;
type Theme = keyof typeof THEMES;
const FILLER = ['vintage', 'small', 'rare', 'gift', 'classic', 'modern', 'handmade', 'original', 'large', 'antique', 'signed', 'boxed', 'restored', 'mint', 'framed', 'deluxe'];

function themedTitle(theme: Theme, i: number): string {
  const w = THEMES[theme].words;
  return `${pick(FILLER, i, 1)} ${pick(w, i, 2)} ${pick(w, i, 3)} ${pick(FILLER, i, 4)}`.replace(/\b\w/g, (c) => c.toUpperCase());
}

describe('open-world categories', () => {
  let root: string;
  beforeAll(() => (root = mkdtempSync(join(tmpdir(), 'curio-openworld-'))));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('keeps form categories as given (normalised, any name), classifies only the items without one, and never falls back', async () => {
    const themes: Theme[] = ['tea', 'prints', 'lamps'];
    const items: FixtureItem[] = [];
    const truth: Theme[] = [];
    for (let i = 0; i < 300; i++) {
      const theme = themes[i % 3] as Theme;
      const labelled = i % 5 < 3;
      items.push({ title: themedTitle(theme, i), category: labelled ? pick(THEMES[theme].form, i, 5) : null });
      truth.push(theme);
    }
    // A seller's form says lamps for a tea title: the form is what the item is listed as, and stays.
    items.push({ title: 'Puer Oolong Brew Kettle', category: 'Desk Lamps' });
    truth.push('lamps');
    // Nothing known about this one: no category rather than the most common one.
    items.push({ title: 'Zyxw Qvtr', category: null });
    truth.push('tea');

    const { db, report } = await tagFixture(root, 'themes', items, { categorySynonyms: [['Lamps', 'desk lamps']] });
    const rows = await query(db, 'SELECT item_id, category, source FROM item_category ORDER BY item_id');
    const byId = new Map(rows.map((r) => [String(r.item_id), { category: String(r.category), source: String(r.source) }]));
    const idOf = (i: number) => `it${String(i).padStart(4, '0')}`;
    const canonical: Record<Theme, string> = { tea: 'loose tea', prints: 'fine art prints', lamps: 'desk lamps' };

    expect(new Set(rows.map((r) => String(r.category)).filter((c) => c !== UNCATEGORISED))).toEqual(new Set(Object.values(canonical)));
    expect(new Set(rows.map((r) => String(r.source)))).toEqual(new Set(['form', 'classifier', 'none']));
    items.forEach((it, i) => {
      const got = byId.get(idOf(i));
      if (it.category) expect({ i, got }).toEqual({ i, got: { category: canonical[truth[i] as Theme], source: 'form' } });
    });
    expect(byId.get(idOf(300))).toEqual({ category: 'desk lamps', source: 'form' });
    // ... a category of its own, so that it is still indexed, never folded into another.
    expect(byId.get(idOf(301))).toEqual({ category: UNCATEGORISED, source: 'none' });

    const unlabelled = items.map((it, i) => i).filter((i) => !items[i]?.category && i < 300);
    const right = unlabelled.filter((i) => byId.get(idOf(i))?.category === canonical[truth[i] as Theme]);
    expect(unlabelled.every((i) => byId.get(idOf(i))?.source === 'classifier')).toBe(true);
    expect(right.length / unlabelled.length).toBeGreaterThan(0.9);

    const c = report.categories;
    expect(c.method).toBe('classifier');
    expect(c.count).toBe(3);
    expect(c.labelled).toBe(181);
    expect(c.classifier?.accuracy).toBeGreaterThan(0.9);
    expect((c.classifier?.heldOut ?? 0) / c.labelled).toBeGreaterThanOrEqual(0.1);
    expect((c.classifier?.heldOut ?? 0) / c.labelled).toBeLessThanOrEqual(0.2);
    expect(c.classifier?.majorityBaseline).toBeLessThan(0.5);
    expect(Object.keys(report.categoryBySource)).not.toContain('fallback');
  });

  it('derives cluster categories, named as clusters, when no item has a form category', async () => {
    const themes: Theme[] = ['tea', 'prints', 'lamps'];
    const items: FixtureItem[] = Array.from({ length: 240 }, (_, i) => ({ title: themedTitle(themes[i % 3] as Theme, i) }));
    const { db, report } = await tagFixture(root, 'unlabelled', items, { categoryClusters: 3 });
    expect(report.categories.method).toBe('cluster');
    expect(report.categories.clusters).toBe(3);
    expect(report.categories.classifier).toBeNull();
    const rows = await query(db, 'SELECT item_id, category, source FROM item_category ORDER BY item_id');
    expect(new Set(rows.map((r) => String(r.source)))).toEqual(new Set(['cluster']));
    expect(new Set(rows.map((r) => String(r.category)))).toEqual(new Set(['cluster:00', 'cluster:01', 'cluster:02']));
    // Each cluster is (mostly) one theme: purity over the hidden themes.
    const counts = new Map<string, Map<Theme, number>>();
    rows.forEach((r, i) => {
      const m = counts.get(String(r.category)) ?? new Map<Theme, number>();
      m.set(themes[i % 3] as Theme, (m.get(themes[i % 3] as Theme) ?? 0) + 1);
      counts.set(String(r.category), m);
    });
    const majority = [...counts.values()].reduce((s, m) => s + Math.max(...m.values()), 0);
    expect(majority / rows.length).toBeGreaterThan(0.9);
    expect(report.categories.clusterSummary[0]?.topTags.length).toBeGreaterThan(0);
  });
});

describe('open-world tagging of English titles', () => {
  let root: string;
  let db: string;
  let report: TaggingReport;
  const films = [
    'Jade Empire (2005)', 'Dragon Heart (1996)', 'The Silver Chair (1990)', 'Crouching Tiger, Hidden Dragon (2000)', 'Gold Diggers of 1933',
    'The Jade Scorpion (2001)', 'Enter the Dragon (1973)', 'Heat (1995)', 'Casino (1995)', 'Toy Story (1995)',
  ];
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'curio-english-'));
    const items: FixtureItem[] = films.map((title) => ({ title }));
    // Forty words, each on a few per cent of the titles: under the document-frequency cap, over the minimum.
    const nouns = ('Night Love Story King City River Ghost Summer Winter Garden Island Mountain Street Train Island Angel Devil Queen Prince Soldier ' +
      'Doctor Stranger Mirror Window Shadow Storm Ocean Desert Forest Highway Circus Dancer Hunter Sailor Widow Bride Thief Witness Empire Harbor').split(' ');
    const glue = ['of the', 'in the', 'and the', 'for a', 'to the'];
    for (let i = 0; i < 200; i++) items.push({ title: `${pick(nouns, i, 1)} ${pick(glue, i, 2)} ${pick(nouns, i, 3)}s (${1950 + (i % 50)})` });
    items.push({ title: 'Eau de Parfum Spray 1.7 Oz' });
    ({ db, report } = await tagFixture(root, 'films', items));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('switches the lexicon off: no material, motif or other dictionary entity on film titles', async () => {
    expect(report.lexicon.inScope).toBe(false);
    expect(report.lexicon.coverage).toBeLessThan(0.25);
    const types = await query(db, "SELECT DISTINCT type FROM item_entities WHERE type <> 'measurement'");
    expect(types).toEqual([]);
    const jade = await query(db, "SELECT count(*)::INTEGER AS n FROM item_tags t JOIN tags g USING (tag_id) WHERE g.tag LIKE 'material.%' OR g.tag LIKE 'motif.%'");
    expect(Number(jade[0]?.n)).toBe(0);
  });

  it('keeps the generic rules: years, decades and measurements', async () => {
    const tags = (await query(db, "SELECT tag FROM tags WHERE type IN ('year', 'decade', 'measurement')")).map((r) => String(r.tag));
    expect(tags).toEqual(expect.arrayContaining(['year:1995', 'decade:1990s', 'year:1933', 'measure:weight:32-64g']));
    expect(report.entitiesByType.measurement).toBe(1);
  });

  it('mines lemmatised word tags free of stop words, numbers and pieces', async () => {
    const mined = (await query(db, 'SELECT phrase, tokens FROM mined_tags')).map((r) => ({ phrase: String(r.phrase), tokens: (r.tokens as string[]).map(String) }));
    expect(mined.length).toBeGreaterThan(0);
    expect(mined.map((m) => m.phrase)).toEqual(expect.arrayContaining(['night', 'story', 'ghost']));
    for (const m of mined) {
      expect({ m, stop: m.tokens.some(isLatinStopWord) }).toEqual({ m, stop: false });
      expect(m.phrase).not.toMatch(/^\d+$/);
      expect([...m.phrase].length).toBeGreaterThan(1);
    }
    // "Ghosts" and "Ghost" are one tag.
    expect(mined.map((m) => m.phrase)).not.toContain('ghosts');
    expect(report.topMinedTags.length).toBeGreaterThan(0);
    expect(report.minedDropped).toBeDefined();
  });
});
