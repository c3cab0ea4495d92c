import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateMarketplace } from '../data/generator/generate';
import { loadDataset } from '../data/loadDataset';
import { openDatabase } from '../platform/duckdb';
import { EntityRecognizer } from '../tagging/entityRecognizer';
import { evaluateTagging, EVALUATED_TYPES } from '../tagging/evaluateTagging';
import { loadLexicon } from '../tagging/lexicon';
import { findMeasurements } from '../tagging/measurements';
import { measurementBucket, tagCatalogue, type TaggingReport } from '../tagging/tagItems';
import { mineTags } from '../tagging/tagMining';
import { Tokenizer } from '../tagging/tokenizer';

const lex = loadLexicon();
const ner = new EntityRecognizer(lex);
const ids = (title: string) => ner.recognize(title).map((e) => `${e.type}:${e.id}`);

describe('entity recognition', () => {
  it('finds dictionary terms, synonyms and measurements in a typical Chinese title', () => {
    const term = (zh: string) => `${lex.zhSurface.get(zh)?.type}:${lex.zhSurface.get(zh)?.id}`;
    expect(ids('清代 和阗玉 籽料 雕花 手把件 包浆 直径3.5cm 重28克')).toEqual([
      'era:era.qing', 'material:material.hetian_jade', term('籽料'), term('雕花'), 'object:object.handpiece', term('包浆'),
      'measurement:diameter:3.5cm', 'measurement:weight:28g',
    ]);
  });

  it('recovers terms written with a commonly mistyped character', () => {
    // 阗 → 田 is in the confusion table; the lexicon's 和阗玉 written as 和填玉 is still Hetian jade.
    const typo = [...lex.typos.entries()].find(([c]) => lex.byId.get('material.hetian_jade')?.zhVariants.some((v) => v.includes(c)));
    expect(typo).toBeDefined();
    const [char, alts] = typo as [string, string[]];
    const variant = (lex.byId.get('material.hetian_jade')?.zhVariants ?? []).find((v) => v.includes(char)) as string;
    expect(ids(`${variant.replace(char, alts[0] as string)}吊坠`)).toContain('material:material.hetian_jade');
  });

  it('recognises known makers from the dictionary and unknown ones by rule', () => {
    const known = lex.makers[0];
    expect(ids(`紫砂壶 ${known?.zh}制`)).toContain(`maker:${known?.id}`);
    expect(ids('朱泥 西施壶 蒲逸樵手作 保真')).toContain('maker:maker.new.蒲逸樵');
    // Not a name: a word that happens to precede 作 or 制.
    expect(ids('精品雕花作').filter((x) => x.startsWith('maker:'))).toEqual([]);
  });

  it('matches one-character era forms only as words of their own', () => {
    expect(ids('清 青花 碗')).toContain('era:era.qing');
    expect(ids('清水 青花 碗').filter((x) => x.startsWith('era:'))).toEqual([]);
  });

  it('reads English titles, multi-word terms and makers included', () => {
    const got = ids('Qing Dynasty Hetian Jade Carved Handpiece, Dia. 3.5 cm, by Wang Zhigang');
    expect(got).toEqual(expect.arrayContaining(['material:material.hetian_jade', 'object:object.handpiece', 'measurement:diameter:3.5cm']));
    expect(got.some((x) => x.startsWith('maker:'))).toBe(true);
  });

  it('normalises measurement units and labels', () => {
    const m = (t: string) => findMeasurements(t.normalize('NFKC').toLowerCase()).map((x) => x.id);
    expect(m('高度12厘米 口径8.50CM 容量约300毫升 108颗 尺寸68x136cm')).toEqual(['height:12cm', 'diameter:8.5cm', 'volume:300ml', 'count:108pcs', 'size:68x136cm']);
    expect(m('Carved jade 28g, Vol. 300ml')).toEqual(['weight:28g', 'volume:300ml']);
    expect(m('2005年 老班章')).toEqual([]);
    expect(measurementBucket('weight:28g')).toBe('measure:weight:16-32g');
  });
});

describe('tokenizer and tag mining', () => {
  it('keeps domain terms whole', () => {
    const t = new Tokenizer(lex);
    expect(t.tokenize('清代和田玉籽料手把件')).toEqual(expect.arrayContaining(['和田玉', '手把件']));
  });

  it('mines a frequent, cohesive phrase that occurs in varied contexts, and not a one-off', () => {
    const docs: string[][] = [];
    const ctx = ['甲', '乙', '丙', '丁', '戊', '己', '庚', '辛'];
    // A background of other titles, so the phrase's parts are rare on their own.
    const filler = Array.from({ length: 40 }, (_, i) => `词${i}`);
    for (let i = 0; i < 400; i++) docs.push([filler[(i * 7) % 40] as string, filler[(i * 13 + 5) % 40] as string, filler[(i * 3 + 1) % 40] as string]);
    for (let i = 0; i < 40; i++) docs.push([ctx[i % 8] as string, '寿眉', '生茶', ctx[(i * 3 + 1) % 8] as string]);
    docs.push(['偶然', '一次']);
    const mined = mineTags(docs, new Set());
    expect(mined.map((m) => m.phrase)).toContain('寿眉生茶');
    expect(mined.map((m) => m.phrase)).not.toContain('偶然一次');
  });
});

describe('tagging a synthetic marketplace (tiny)', () => {
  let root: string;
  let report: TaggingReport;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'curio-tag-'));
    await generateMarketplace({ scale: 'tiny', seed: 5, out: join(root, 'data') });
    await loadDataset({ dir: join(root, 'data'), out: join(root, 'ds.duckdb') });
    report = await tagCatalogue(join(root, 'ds.duckdb'), join(root, 'tags.duckdb'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('gives every item tags and a category, from every tag source', async () => {
    expect(report.items).toBe(2000);
    for (const source of ['dictionary', 'rule', 'mined', 'visual']) expect(report.tagsBySource[source]).toBeGreaterThan(0);
    expect(report.tags).toBeGreaterThan(500);
    const db = await openDatabase(join(root, 'tags.duckdb'), { access_mode: 'READ_ONLY' });
    try {
      const r = (
        await db.connection.runAndReadAll(
          `SELECT (SELECT count(DISTINCT item_id) FROM item_tags) AS tagged,
                  (SELECT count(*) FROM item_category WHERE category <> '') AS categorised,
                  (SELECT count(*) FROM tags t WHERE t.item_count <> (SELECT count(*) FROM item_tags i WHERE i.tag_id = t.tag_id)) AS miscounted`,
        )
      ).getRowObjectsJS()[0];
      expect(Number(r?.tagged)).toBe(2000);
      expect(Number(r?.categorised)).toBe(2000);
      expect(Number(r?.miscounted)).toBe(0);
    } finally {
      db.close();
    }
  });

  it('meets precision and recall >= 0.9 for every evaluated entity type, and derives categories accurately', async () => {
    const ev = await evaluateTagging(join(root, 'tags.duckdb'), join(root, 'data'));
    for (const type of EVALUATED_TYPES) {
      const s = ev.byType.find((x) => x.type === type);
      expect({ type, ok: (s?.precision ?? 0) >= 0.9 && (s?.recall ?? 0) >= 0.9 }).toEqual({ type, ok: true });
    }
    // Items without a form category get the classifier's (the old lexicon vote, source 'tags', is gone).
    const derived = ev.categoryAccuracy.find((c) => c.source === 'classifier');
    expect(derived?.accuracy).toBeGreaterThan(0.9);
    expect(ev.categoryAccuracy.find((c) => c.source === 'all')?.purity).toBeGreaterThan(0.9);
  });

  it('applies the lexicon (it covers these titles) and measures the category classifier on held-out items', () => {
    expect(report.lexicon.inScope).toBe(true);
    expect(report.lexicon.coverage).toBeGreaterThan(0.9);
    const c = report.categories;
    expect(c.method).toBe('classifier');
    expect(c.count).toBe(12);
    expect(Object.keys(c.bySource).sort()).toEqual(['classifier', 'form']);
    expect(c.classifier?.accuracy).toBeGreaterThan(0.9);
    expect((c.classifier?.heldOut ?? 0) / c.labelled).toBeGreaterThanOrEqual(0.1);
    expect((c.classifier?.heldOut ?? 0) / c.labelled).toBeLessThanOrEqual(0.2);
    expect(report.informativeTags.shareWithAtLeastThree).toBeGreaterThan(0.95);
    expect(report.topMinedTags.length).toBe(20);
  });
});
