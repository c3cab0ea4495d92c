import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFeatureSql } from '../data/features';
import { generateMarketplace } from '../data/generator/generate';
import { loadDataset } from '../data/loadDataset';
import { formatAbReport } from '../evaluation/abReport';
import { DEFAULT_AB } from '../evaluation/abConfig';
import { inArmB, simulateAbTest, type AbInputs, type AbReport } from '../evaluation/abTest';
import { truthOracle } from '../evaluation/oracleModel';
import { ConstrainedIndex, ConstrainedIndexError } from '../retrieval/constrainedIndex';
import { buildItemIndex } from '../retrieval/catalogue';
import { randomQueries } from './helpers/retrievalFixtures';
import { tagCatalogue } from '../tagging/tagItems';

// The whole chain at tiny scale: generated marketplace → DuckDB → features → tags → A/B simulation,
// with the ORACLE as arm B. The oracle knows the truth, so it must beat item-CF: if it did not, the
// simulator (not the model) would be broken. Trained models are never asserted to win.
describe('A/B CTR simulation (tiny, oracle)', () => {
  let root: string;
  let inputs: AbInputs;
  let report: AbReport;
  const config = { ...DEFAULT_AB, seed: 4, bootstrapSamples: 500 };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'curio-ab-'));
    await generateMarketplace({ scale: 'tiny', seed: 3, out: join(root, 'data') });
    await loadDataset({ dir: join(root, 'data'), out: join(root, 'ds.duckdb') });
    await runFeatureSql(join(root, 'ds.duckdb'), join(root, 'features.duckdb'));
    await tagCatalogue(join(root, 'ds.duckdb'), join(root, 'tags.duckdb'));
    inputs = { featuresDb: join(root, 'features.duckdb'), tagsDb: join(root, 'tags.duckdb'), datasetDir: join(root, 'data'), armB: truthOracle };
    report = await simulateAbTest(inputs, config);
    console.log(formatAbReport(report));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('splits users by a seeded draw and gives every session full pages from live, unseen items', () => {
    const { armA, armB } = report;
    expect(armA.users).toBeGreaterThan(30);
    expect(armB.users).toBeGreaterThan(30);
    expect(armA.sessions + armB.sessions + report.skippedSessions).toBe(report.sessions);
    // (the simulator throws if a recaller shows a seen or closed item)
    for (const arm of [armA, armB]) expect(arm.impressions).toBe(arm.sessions * config.pagesPerSession * config.pageSize);
    expect(inArmB(4, 17, 0.5)).toBe(inArmB(4, 17, 0.5));
  });

  it('the oracle beats item-CF on CTR, significantly by both tests', () => {
    expect(report.armB.ctr).toBeGreaterThan(report.armA.ctr);
    expect(report.zTest.lift).toBeGreaterThan(0);
    expect(report.zTest.pValue).toBeLessThan(0.05);
    expect(report.bootstrap.ci[0]).toBeGreaterThan(0);
    expect(report.zTest.liftCi[0]).toBeGreaterThan(0);
  });

  it('reports diversity, coverage, fallback use and the offline replay estimate', () => {
    for (const arm of [report.armA, report.armB]) {
      expect(arm.categoriesPerFeed).toBeGreaterThanOrEqual(1);
      expect(arm.coverage).toBeGreaterThan(0);
      expect(arm.coverage).toBeLessThanOrEqual(1);
      expect(arm.fallbackPageShare).toBeGreaterThanOrEqual(0);
      expect(arm.replay?.targets).toBeGreaterThan(0);
      expect(arm.replay?.hits).toBeLessThanOrEqual(arm.replay?.targets as number);
    }
    // Both arms replay the same sessions.
    expect(report.armA.replay?.targets).toBe(report.armB.replay?.targets);
    expect(Object.keys(report.armB.routeShare)).toEqual(expect.arrayContaining(['category']));
    expect(formatAbReport(report)).toMatch(/bootstrap over users/);
  });

  it('is deterministic for a seed', async () => {
    const again = await simulateAbTest(inputs, { ...config, replay: false });
    const strip = (r: AbReport) => ({ ...r, seconds: 0, replayLift: undefined, armA: { ...r.armA, replay: undefined }, armB: { ...r.armB, replay: undefined } });
    expect(strip(again)).toEqual(strip(report));
  });

  it('gives the popular lots the share of arm B\'s feed that validation chose, on top of the fallback', async () => {
    const blended = await simulateAbTest({ ...inputs, armB: (truth) => ({ ...truthOracle(truth), popularShare: 0.5 }) }, { ...config, replay: false });
    const fallbackShare = blended.armB.fallbackSlots / blended.armB.impressions;
    // Half of every page is popular on purpose (interleaved, model first; a popular lot the model
    // also found counts as the model's), and the fallback tops short pages up as before.
    expect(blended.armB.routeShare.popular).toBeGreaterThan(0.4);
    expect(blended.armB.routeShare.popular).toBeLessThanOrEqual(0.5 + fallbackShare + 1e-9);
    expect(report.armB.routeShare.popular ?? 0).toBeLessThan(0.5);
    expect(blended.armA).toEqual({ ...report.armA, replay: blended.armA.replay });
  });

  it('builds the item index artifact from the feature and tags DBs: every item, in item_idx order, with its tagged category', async () => {
    const vectors = new Float32Array(2000 * 8);
    randomQueries(2000, 8, 1).forEach((v, i) => vectors.set(v, i * 8));
    const r = await buildItemIndex(inputs.featuresDb, inputs.tagsDb, { dim: 8, vectors }, join(root, 'index'));
    expect(r).toMatchObject({ items: 2000, categories: 12, offset: 4 });
    const index = ConstrainedIndex.read(join(root, 'index'));
    expect(index.itemIds[0]).toBe('it0000001');
    expect(index.categorySize('jade')).toBeGreaterThan(0);
    await expect(buildItemIndex(inputs.featuresDb, inputs.tagsDb, { dim: 8, vectors: vectors.subarray(8) }, join(root, 'bad'))).rejects.toThrow(ConstrainedIndexError);
  });
});
