import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFeatureSql } from '../data/features';
import { generateMarketplace } from '../data/generator/generate';
import { loadDataset } from '../data/loadDataset';
import { formatAbReport } from '../evaluation/abReport';
import { DEFAULT_AB } from '../evaluation/abConfig';
import type { ArmBModels } from '../evaluation/abFeeds';
import { runReplayOnly, type ReplayOnlyReport } from '../evaluation/abReplay';
import { simulateAbTest } from '../evaluation/abTest';
import { hasTruth } from '../evaluation/truth';
import { tagCatalogue } from '../tagging/tagItems';
import { randomQueries } from './helpers/retrievalFixtures';

// Replay-only mode: data without truth/ (real logs) has no click model, but the offline replay of
// logged clicks must still compare the arms. Arm B here is a fixed, truth-free model (random item
// vectors, interests = the history's mean vector): the test checks the bookkeeping, not a model.
describe('A/B replay-only estimate (tiny, no truth/)', () => {
  let root: string;
  let armB: ArmBModels;
  let paths: { featuresDb: string; tagsDb: string; datasetDir: string };
  let report: ReplayOnlyReport;
  const config = { ...DEFAULT_AB, seed: 4, bootstrapSamples: 200 };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'curio-ab-replay-'));
    await generateMarketplace({ scale: 'tiny', seed: 3, out: join(root, 'data') });
    await loadDataset({ dir: join(root, 'data'), out: join(root, 'ds.duckdb') });
    await runFeatureSql(join(root, 'ds.duckdb'), join(root, 'features.duckdb'));
    await tagCatalogue(join(root, 'ds.duckdb'), join(root, 'tags.duckdb'));
    paths = { featuresDb: join(root, 'features.duckdb'), tagsDb: join(root, 'tags.duckdb'), datasetDir: join(root, 'data') };
    const dim = 8;
    const vectors = new Float32Array(2000 * dim);
    randomQueries(2000, dim, 1).forEach((v, i) => vectors.set(v, i * dim));
    const meanOf = (items: number[]) => {
      const v = new Float32Array(dim);
      for (const i of items) for (let d = 0; d < dim; d++) v[d]! += vectors[i * dim + d] as number;
      return v;
    };
    armB = {
      label: 'history mean',
      itemVectors: { dim, vectors },
      modelFor: () => ({ dim, interests: (l, s) => (l.length + s.length > 0 ? [meanOf([...l, ...s])] : []) }),
    };
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('gives the same replay figures as the simulation does on the same data, once truth/ is removed', async () => {
    expect(hasTruth(paths.datasetDir)).toBe(true);
    const simulated = await simulateAbTest({ ...paths, armB }, config);
    expect(simulated.mode).toBe('simulation');
    expect(simulated.skippedSessions).toBe(0);

    rmSync(join(paths.datasetDir, 'truth'), { recursive: true, force: true });
    expect(hasTruth(paths.datasetDir)).toBe(false);
    await expect(simulateAbTest({ ...paths, armB }, config)).rejects.toThrow(/truth/);
    report = await runReplayOnly({ featuresDb: paths.featuresDb, tagsDb: paths.tagsDb, armB }, config);
    console.log(formatAbReport(report));

    // Feeds are built exactly as in the simulation's replay: identical figures for both arms.
    expect(report.armA.replay).toEqual(simulated.armA.replay);
    expect(report.armB.replay).toEqual(simulated.armB.replay);
  });

  it('replays both arms on the same sessions, every held-out session with logged clicks', () => {
    expect(report.mode).toBe('replay_only');
    expect(report.replaySessions).toBeGreaterThan(20);
    expect(report.replaySessions).toBeLessThanOrEqual(report.sessions);
    for (const arm of [report.armA, report.armB]) {
      expect(arm.feeds).toBe(report.replaySessions);
      expect(arm.replay.sessions).toBe(report.replaySessions);
      // every session holds at least one target, so targets >= sessions
      expect(arm.replay.targets).toBeGreaterThanOrEqual(arm.replay.sessions);
      expect(arm.replay.hits).toBeLessThanOrEqual(arm.replay.targets);
      expect(arm.replay.recall).toBeCloseTo(arm.replay.hits / arm.replay.targets, 12);
      expect(arm.replay.hitRate).toBeGreaterThanOrEqual(0);
      expect(arm.replay.hitRate).toBeLessThanOrEqual(Math.min(1, arm.replay.hits / arm.replay.sessions));
      // the popular fallback fills every feed to its size
      expect(report.feedSize).toBe(config.pageSize * config.pagesPerSession);
      expect(arm.feedItems).toBe(arm.feeds * report.feedSize);
      expect(arm.categoriesPerFeed).toBeGreaterThanOrEqual(1);
      expect(arm.categoriesPerFeed).toBeLessThanOrEqual(report.feedSize);
      expect(arm.coverage).toBeGreaterThan(0);
      expect(arm.coverage).toBeLessThanOrEqual(1);
      expect(arm.distinctItemsShown).toBeLessThanOrEqual(report.liveItemsSeen);
      const share = Object.values(arm.routeShare).reduce((s, x) => s + x, 0);
      expect(share).toBeCloseTo(1, 9);
    }
    expect(report.armA.replay.targets).toBe(report.armB.replay.targets);
    expect(report).not.toHaveProperty('zTest');
    expect(report.armB).not.toHaveProperty('ctr');
  });

  it('says in its report that no CTR simulation was possible', () => {
    expect(report.note).toMatch(/no CTR simulation/);
    const text = formatAbReport(report);
    expect(text).toMatch(/^REPLAY ONLY: no CTR simulation/);
    expect(text).toMatch(/logged clicks in feed/);
    expect(text).not.toMatch(/CTR lift/);
  });
});
