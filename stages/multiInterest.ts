import { join } from 'node:path';
import { rankingMetrics } from '../evaluation/headlineMetrics';
import type { MethodMetrics } from '../evaluation/userEval';
import type { TrackedRun } from '../experiments/trackedRun';
import type { ItemUnitConfig, MultiInterestConfig } from '../models/config';
import { ConfigError } from '../platform/schema';
import { featuresSpec } from './features';
import type { MultiInterestReport } from './modelStages';
import { defineStage, type StageOutput, type StageSpec } from './spec';
import { CO_TRAINED_ITEM_VECTORS, MULTI_INTEREST_SESSION_QUERIES, YOUTUBE_DNN_ITEM_VECTORS, YOUTUBE_DNN_SESSION_QUERIES } from './stageFiles';
import { taggingSpec } from './tagging';
import { logTraining, readReport, uploadIfPresent, type TrainingLog } from './trackingHelpers';

export interface MultiInterestInput {
  features: StageOutput;
  /** The tags joint training reads the item tower's attributes from (absent in histories recorded before it). */
  tags?: StageOutput;
  itemEmbedding: StageOutput;
  itemUnit: ItemUnitConfig;
  /** With the λ of this training. */
  multiInterest: MultiInterestConfig;
}

type UserModelLog = { training: TrainingLog; valid: MethodMetrics; test: MethodMetrics; nextSession?: { valid: MethodMetrics; test: MethodMetrics }; interestCollapse?: number };

async function logUserModel(run: TrackedRun, x: UserModelLog): Promise<void> {
  await logTraining(run, x.training);
  await run.logMetrics({
    ...rankingMetrics(x.test, 'comirec_'),
    ...rankingMetrics(x.valid, 'comirec_val_'),
    ...(x.nextSession ? { ...rankingMetrics(x.nextSession.test, 'next_session_'), ...rankingMetrics(x.nextSession.valid, 'next_session_val_') } : {}),
    ...(x.interestCollapse !== undefined ? { interest_collapse: x.interestCollapse } : {}),
  });
}

const FILES = {
  model: 'multi_interest',
  youtubeDnn: 'youtube_dnn',
  testUserInterests: 'test_user_interests.parquet',
  coTrainedItemVectors: CO_TRAINED_ITEM_VECTORS,
  youtubeDnnItemVectors: YOUTUBE_DNN_ITEM_VECTORS,
  sessionQueries: MULTI_INTEREST_SESSION_QUERIES,
  youtubeDnnSessionQueries: YOUTUBE_DNN_SESSION_QUERIES,
  report: 'report.json',
} as const;

/**
 * The multi-interest user model at one λ. Two stages train it: `multi_interest` (the config's λ, with
 * the single-vector YouTube-DNN baseline beside it, once per retrain) and `multi_interest_trial` (one
 * per λ of the sweep, without the baseline).
 */
function userModelSpec(name: 'multi_interest' | 'multi_interest_trial', singleVectorBaseline: boolean): StageSpec<MultiInterestInput, MultiInterestReport, typeof FILES> {
  const spec = defineStage<MultiInterestInput, MultiInterestReport>()({
    name,
    queue: 'training',
    files: FILES,
    key: (input) => ({ embedding: input.itemEmbedding.digest, features: input.features.digest, tags: input.tags?.digest ?? null, multiInterest: input.multiInterest, baseline: singleVectorBaseline }),
    async run(input, io) {
      if (input.multiInterest.itemTower === 'joint' && !input.tags) throw new ConfigError("multiInterest.itemTower joint needs the tagging stage (tags) to read the item tower's attributes");
      const { multiInterestStage } = await import('./modelStages');
      return multiInterestStage(
        {
          featuresDb: join(input.features.dir, featuresSpec.files.db),
          tagsDb: input.tags ? join(input.tags.dir, taggingSpec.files.db) : '',
          itemUnit: input.itemUnit,
          itemEmbeddingDir: input.itemEmbedding.dir,
          multiInterest: input.multiInterest,
          singleVectorBaseline,
        },
        io,
      );
    },
    summary: (r) => ({
      lambda: r.lambda,
      // The sweep picks λ on this one: next-session Recall@50 of the validation period.
      valid_next_session_recall_at_50: r.multiInterest.nextSession.valid.recall_at_50,
      test_next_session_recall_at_50: r.multiInterest.nextSession.test.recall_at_50,
      valid_recall_at_50: r.multiInterest.valid.recall_at_50,
      test_recall_at_50: r.multiInterest.test.recall_at_50,
      interest_collapse: r.multiInterest.interestCollapse,
      session_start_collapse_before_gate: r.multiInterest.sessionStartCollapse.beforeGate,
      session_start_collapse_after_gate: r.multiInterest.sessionStartCollapse.afterGate,
      resumed_from_epoch: r.multiInterest.training.resumedFromEpoch,
    }),
    async track({ ref, run, model }) {
      const r = readReport<{ lambda: number; multiInterest: UserModelLog; youtubeDnn?: UserModelLog }>(ref.dir);
      if (!r) return;
      // A sweep trial is its own run (sweep:lambda=…); the models of the retrain are the stage's.
      if (!singleVectorBaseline) return logUserModel(run, r.multiInterest);
      const m = await model('multi_interest');
      await logUserModel(m, r.multiInterest);
      await uploadIfPresent(m, ref.dir, [FILES.model, FILES.testUserInterests]);
      await m.end('FINISHED');
      if (r.youtubeDnn) {
        const y = await model('youtube_dnn');
        await logUserModel(y, r.youtubeDnn);
        await uploadIfPresent(y, ref.dir, [FILES.youtubeDnn]);
        await y.end('FINISHED');
      }
    },
  });
  return spec;
}

export const multiInterestSpec = userModelSpec('multi_interest', true);
export const lambdaTrialSpec = userModelSpec('multi_interest_trial', false);
