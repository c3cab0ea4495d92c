import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyOverrides, DEFAULT_LAMBDA_GRID, resolveRetrainConfig, resolveWithOverrides } from '../../config/retrainConfig';
import { DEFAULT_FEATURE_PARAMS } from '../../data/features';
import { DEFAULT_AB } from '../../evaluation/abConfig';
import { DEFAULT_ITEM_UNIT, DEFAULT_KEYWORD, DEFAULT_MULTI_INTEREST } from '../../models/config';
import { ConfigError } from '../../platform/schema';
import { DEFAULT_TAGGING } from '../../tagging/tagItems';
import type { RetrainInput } from '../../workflows/types';

const small: RetrainInput = { data: { generate: { scale: 'small' } } };

/** The ConfigError's message, so a test states the reason a user reads. */
function refusal(input: unknown): string {
  try {
    resolveRetrainConfig(input as RetrainInput);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('the config resolved');
}

describe('retrain config, checked at the validate stage', () => {
  it('fills every default from the sections’ own defaults', () => {
    const cfg = resolveRetrainConfig(small);
    expect(cfg.data).toEqual({ generate: { scale: 'small', seed: 7, lang: 'zh' }, quarantine: false });
    expect(cfg.features).toEqual(DEFAULT_FEATURE_PARAMS);
    expect(cfg.tagging).toEqual(DEFAULT_TAGGING);
    expect(cfg.itemUnit).toEqual(DEFAULT_ITEM_UNIT);
    expect(cfg.keyword).toEqual(DEFAULT_KEYWORD);
    expect(cfg.multiInterest).toEqual(DEFAULT_MULTI_INTEREST);
    expect(cfg.abTest).toEqual(DEFAULT_AB);
    expect(cfg.lambdaGrid).toEqual(DEFAULT_LAMBDA_GRID);
    expect(cfg.timeouts).toEqual({ trainingHeartbeatSeconds: 60 });
    expect(cfg.evaluation.primaryMetric).toBe('next_session_recall_at_50');
    // Resolving a resolved config changes nothing (a retry re-checks it with the same schema).
    expect(resolveRetrainConfig(cfg)).toEqual(cfg);
    // The defaults are copies: changing one config leaves the next one alone.
    cfg.itemUnit.timePeriods.push(99);
    expect(resolveRetrainConfig(small).itemUnit.timePeriods).toEqual(DEFAULT_ITEM_UNIT.timePeriods);
  });

  it('merges a partial section over its defaults, nested sections included', () => {
    const cfg = resolveRetrainConfig({ ...small, keyword: { negatives: { random: 7 } }, abTest: { recall: { merge: 'score' }, shareB: 0.3 }, lambdaGrid: [1, 0, 1] });
    expect(cfg.keyword.negatives).toEqual({ ...DEFAULT_KEYWORD.negatives, random: 7 });
    expect(cfg.abTest).toEqual({ ...DEFAULT_AB, shareB: 0.3, recall: { ...DEFAULT_AB.recall, merge: 'score' } });
    expect(cfg.lambdaGrid).toEqual([0, 1]);
  });

  it('refuses unknown keys with the path and the known ones', () => {
    expect(refusal({ ...small, multiInterest: { interestz: 3 } })).toMatch(/multiInterest\.interestz is not a setting \(known: interests, extraction,/);
    expect(refusal({ ...small, keyword: { negatives: { randm: 1 } } })).toMatch(/keyword\.negatives\.randm is not a setting \(known: random, popular, popularityPower, inBatch\)/);
    expect(refusal({ ...small, lamdaGrid: [0] })).toMatch(/lamdaGrid is not a setting \(known: data, experimentName,/);
  });

  it('says which field is wrong, why and what it got, for every problem at once', () => {
    const msg = refusal({ ...small, multiInterest: { interests: 0, lambda: -0.5 }, itemUnit: { dim: '64' } });
    expect(msg).toMatch(/multiInterest\.interests \(K\) must be >= 1, got 0/);
    expect(msg).toMatch(/multiInterest\.lambda \(λ\) must be >= 0, got -0\.5/);
    expect(msg).toMatch(/itemUnit\.dim must be a positive integer, got "64"/);
    expect(refusal({ ...small, multiInterest: { fusion: 'concat' } })).toMatch(/multiInterest\.fusion must be one of sigmoid_gate, interest_attention, session_channel, none, got "concat"/);
    expect(refusal({ ...small, features: { trainEndFrac: 0.95 } })).toMatch(/features\.trainEndFrac must be below validEndFrac/);
    expect(refusal({ ...small, keyword: { dim: 32 } })).toMatch(/keyword\.dim must equal the item-unit dimension 64 to transfer its tower, got 32/);
    expect(refusal({ ...small, tagging: { categorySynonyms: [['a']] } })).toMatch(/tagging\.categorySynonyms/);
  });

  it('checks the sections that used to be checked only when their stage ran', () => {
    // abTest was first checked at stage 11, with a plain (retried) Error.
    expect(refusal({ ...small, abTest: { shareB: 1.5 } })).toMatch(/abTest\.shareB must be in \(0, 1\), got 1\.5/);
    expect(refusal({ ...small, abTest: { pageSize: 0 } })).toMatch(/abTest\.pageSize must be a positive integer, got 0/);
    expect(refusal({ ...small, abTest: { userSplits: ['tests'] } })).toMatch(/abTest\.userSplits\.0 must be one of train, valid, test/);
    // primaryMetric was first checked at registration, after every training.
    expect(refusal({ ...small, evaluation: { primaryMetric: 'recall@50' } })).toMatch(/evaluation\.primaryMetric must be a metric the retrain reports \(next_session_recall_at_20,.*ctr_lift, replay_lift\), got "recall@50"/);
    expect(resolveRetrainConfig({ ...small, evaluation: { primaryMetric: 'ctr_lift' } }).evaluation.primaryMetric).toBe('ctr_lift');
    // The heartbeat timeout was silently replaced by 60 s below 5 s.
    expect(refusal({ ...small, timeouts: { trainingHeartbeatSeconds: 2 } })).toMatch(/timeouts\.trainingHeartbeatSeconds must be at least 5 seconds, got 2/);
    expect(refusal({ ...small, timeouts: { trainingHeartbeatSeconds: 'soon' } })).toMatch(/timeouts\.trainingHeartbeatSeconds must be an integer number of seconds/);
    expect(resolveRetrainConfig({ ...small, timeouts: { trainingHeartbeatSeconds: 15 } }).timeouts.trainingHeartbeatSeconds).toBe(15);
    expect(refusal({ ...small, index: { factory: 'IVF 256' } })).toMatch(/index\.factory must be a Faiss factory string/);
  });

  it('checks the data source', () => {
    expect(refusal({})).toMatch(/data is required/);
    expect(refusal({ data: { dir: '/x', generate: { scale: 'small' } } })).toMatch(/data needs exactly one of 'dir' and 'generate'/);
    expect(refusal({ data: { generate: { scale: 'huge' } } })).toMatch(/data\.generate\.scale must be one of tiny, small, medium, large, got "huge"/);
    expect(refusal({ data: { dir: '/no/such/folder' } })).toMatch(/data\.dir \/no\/such\/folder is not a folder/);
    expect(refusal([small])).toMatch(/must be one JSON object/);
    const dir = mkdtempSync(join(tmpdir(), 'curio-config-'));
    try {
      expect(resolveRetrainConfig({ data: { dir, quarantine: true } }).data).toEqual({ dir, quarantine: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('applies retry overrides with the same checks, and refuses sections a retry cannot change', () => {
    const cfg = resolveRetrainConfig(small);
    const retried = applyOverrides(cfg, { multiInterest: { epochs: 2 }, data: { quarantine: true } });
    expect(retried.multiInterest).toEqual({ ...DEFAULT_MULTI_INTEREST, epochs: 2 });
    expect(retried.data.quarantine).toBe(true);
    expect(() => applyOverrides(cfg, { multiInterest: { epochs: 0 } })).toThrow(/multiInterest\.epochs must be a positive integer, got 0/);
    expect(() => applyOverrides(cfg, { keyword: { epochz: 1 } })).toThrow(/keyword\.epochz is not a setting/);
    expect(() => applyOverrides(cfg, { data: { dir: '/elsewhere' } })).toThrow(/override 'data' is not a config section that can change on retry/);
    expect(() => applyOverrides(cfg, { timeouts: { trainingHeartbeatSeconds: 30 } })).toThrow(/override 'timeouts'/);
    expect(() => applyOverrides(cfg, { nonsense: {} })).toThrow(/override 'nonsense'/);
  });

  it('lets the overrides of a failed validate stage repair the input', () => {
    const bad: RetrainInput = { ...small, timeouts: { trainingHeartbeatSeconds: 2 } };
    expect(() => resolveWithOverrides(bad, [])).toThrow(ConfigError);
    expect(resolveWithOverrides(bad, [{ timeouts: { trainingHeartbeatSeconds: 10 } }]).timeouts.trainingHeartbeatSeconds).toBe(10);
    expect(resolveWithOverrides(small, [{ multiInterest: { epochs: 1 } }, { multiInterest: { interests: 2 } }]).multiInterest).toMatchObject({ epochs: 1, interests: 2 });
  });
});
