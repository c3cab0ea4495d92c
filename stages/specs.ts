import { abTestSpec } from './abTest';
import { evaluationSpec } from './evaluation';
import { featuresSpec } from './features';
import { itemEmbeddingSpec } from './itemEmbedding';
import { keywordSpec } from './keyword';
import { loadSpec } from './load';
import { lambdaTrialSpec, multiInterestSpec } from './multiInterest';
import { recallIndexSpec } from './recallIndex';
import type { StageSpec } from './spec';
import { taggingSpec } from './tagging';

/** Every stage spec by its folder name: what the tracking activity looks a finished stage up in. */
export const STAGE_SPECS: Readonly<Record<string, StageSpec<never, unknown>>> = Object.fromEntries(
  [loadSpec, featuresSpec, taggingSpec, itemEmbeddingSpec, keywordSpec, multiInterestSpec, lambdaTrialSpec, evaluationSpec, recallIndexSpec, abTestSpec].map((s) => [s.name, s as unknown as StageSpec<never, unknown>]),
);
