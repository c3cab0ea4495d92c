import { join } from 'node:path';
import { mlflowModelVersionUrl } from './lineage';
import { fromKeyValues, MlflowClient, type ModelVersion } from './mlflowClient';
import { checkArtifactPath, checkName, TAGS } from './naming';
import { listFiles } from './localFiles';
import { CurioError } from '../platform/errors';

/**
 * Registers a retrain's recall bundle as a model version and moves the `champion` alias only
 * when the new version beats the current champion on the primary metric; otherwise the new
 * version becomes `challenger`. Registration talks to MLflow directly (no buffer): the decision
 * depends on the server's state, and the activity calling it is retried by Temporal instead.
 * Idempotent: a retry finds the version it created and returns the decision it recorded.
 */

export const DEFAULT_MODEL_NAME = 'curio-recall';

/** What a recall bundle holds (docs/tracking.md): the three models, the index and the config. */
export const RECALL_BUNDLE_PARTS = ['user_model', 'item_unit', 'keyword_model', 'index', 'config.json'] as const;

export interface PrimaryMetric {
  name: string;
  /** Default true (recall, NDCG, CTR lift). */
  higherIsBetter?: boolean;
  /** The margin a challenger must beat the champion by; default 0 (any strict improvement). */
  minDelta?: number;
}

export const DEFAULT_PRIMARY_METRIC: Required<PrimaryMetric> = { name: 'recall_at_50', higherIsBetter: true, minDelta: 0 };

/**
 * A condition a version must meet before any comparison: a retrain whose online estimate (the A/B
 * CTR lift, or the replay lift where no simulator exists) has a 95% interval entirely below zero is
 * worse than the baseline already in production, whatever its offline metric says.
 */
export interface PromotionGate {
  blocked: boolean;
  reason: string;
}

/** The gate from a lift estimate: blocked when the whole interval lies below 0. */
export function liftGate(name: string, lift: { lift: number; ci: [number, number] } | undefined): PromotionGate {
  if (!lift) return { blocked: false, reason: `no ${name} estimate` };
  const [lo, hi] = lift.ci;
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`;
  const range = `${pct(lift.lift)}, 95% CI ${pct(lo)} .. ${pct(hi)}`;
  return hi < 0 ? { blocked: true, reason: `${name} ${range} is entirely below 0: not promoted` } : { blocked: false, reason: `${name} ${range}` };
}

export const VERSION_TAGS = {
  primaryMetric: 'curio.primary_metric',
  primaryValue: 'curio.primary_metric_value',
  higherIsBetter: 'curio.higher_is_better',
  bundlePath: 'curio.bundle_path',
  runKey: 'curio.run_key',
  datasetDigest: 'curio.dataset_digest',
  decision: 'curio.decision',
  previousChampion: 'curio.previous_champion',
  reason: 'curio.decision_reason',
  /** `metric.<name>`: every headline metric of the version, for comparisons later. */
  metricPrefix: 'metric.',
} as const;

export class RegistryError extends CurioError {
  constructor(message: string) {
    super(message, { type: 'RegistryError', retryable: false });
  }
}

export interface RegisterBundleInput {
  client: MlflowClient;
  /** The run whose artifacts hold the bundle (normally the retrain's parent run). */
  runId: string;
  /** The bundle's folder among the run's artifacts; default `bundle`. */
  bundlePath?: string;
  /** Upload this local folder to `bundlePath` first (files already there are overwritten). */
  localDir?: string;
  modelName?: string;
  primaryMetric?: PrimaryMetric;
  /** Headline metrics; the primary one is read from the run when absent here. */
  metrics?: Record<string, number>;
  /** Entries the bundle folder must contain; default RECALL_BUNDLE_PARTS. */
  requiredParts?: readonly string[];
  aliases?: { champion?: string; challenger?: string };
  description?: string;
  tags?: Record<string, string>;
  /** The dataset the metrics were measured on: a champion measured on other data is compared on crossDatasetMetric. */
  datasetDigest?: string;
  /**
   * The metric compared when the champion's dataset differs (or is unknown): the primary metric
   * relative to a baseline measured alongside it on each one's own data (e.g. its ratio over
   * item-CF's), since raw recall of different data says nothing. Without it, such a champion is
   * compared on the primary metric as before.
   */
  crossDatasetMetric?: string;
  /** Checked before any comparison; a blocked version becomes challenger with the gate's reason. */
  gate?: PromotionGate;
}

export type Decision = 'promoted' | 'challenger';

export interface RegistrationResult {
  modelName: string;
  version: string;
  decision: Decision;
  reason: string;
  primaryMetric: string;
  value: number;
  previousChampion?: { version: string; value?: number };
  /** True when a retry found the version an earlier attempt registered. */
  alreadyRegistered: boolean;
  source: string;
  url: string;
}

/** True when `candidate` beats `incumbent` on `metric` (strictly, by more than minDelta). */
export function beats(candidate: number, incumbent: number, metric: PrimaryMetric): boolean {
  const delta = metric.minDelta ?? 0;
  return (metric.higherIsBetter ?? true) ? candidate > incumbent + delta : candidate < incumbent - delta;
}

export async function registerBundle(input: RegisterBundleInput): Promise<RegistrationResult> {
  const { client, runId } = input;
  const modelName = input.modelName ?? DEFAULT_MODEL_NAME;
  const metric = { ...DEFAULT_PRIMARY_METRIC, ...input.primaryMetric };
  const championAlias = input.aliases?.champion ?? 'champion';
  const challengerAlias = input.aliases?.challenger ?? 'challenger';
  if (!/^[0-9a-f]{32}$/.test(runId)) throw new RegistryError(`runId '${runId}' is not an MLflow run id`);
  if (!/^[A-Za-z0-9_.-]+$/.test(modelName)) throw new RegistryError(`model name '${modelName}' may only contain letters, digits and _ . -`);
  checkName('metric', metric.name);
  if (!Number.isFinite(metric.minDelta) || metric.minDelta < 0) throw new RegistryError('minDelta must be a finite number >= 0');
  const bundlePath = checkArtifactPath(input.bundlePath ?? 'bundle');
  if (!bundlePath) throw new RegistryError('bundlePath must name a folder, not the artifact root');

  const run = await client.getRun(runId);
  if (input.localDir) {
    for (const rel of await listFiles(input.localDir)) {
      await client.uploadArtifactFile(run, `${bundlePath}/${rel}`, join(input.localDir, ...rel.split('/')));
    }
  }
  const present = new Set((await client.listArtifacts(run, bundlePath)).map((f) => f.path.slice(bundlePath.length + 1)));
  const missing = (input.requiredParts ?? RECALL_BUNDLE_PARTS).filter((p) => !present.has(p));
  if (missing.length) {
    throw new RegistryError(`run ${runId}: bundle '${bundlePath}' lacks ${missing.join(', ')} (has: ${[...present].join(', ') || 'nothing'})`);
  }

  for (const [k, v] of Object.entries(input.metrics ?? {})) {
    checkName('metric', k);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RegistryError(`metric ${k} must be a finite number, got ${String(v)}`);
  }
  const runMetrics = Object.fromEntries((run.data.metrics ?? []).map((m) => [m.key, m.value]));
  const headline: Record<string, number> = { ...input.metrics };
  const value = headline[metric.name] ?? runMetrics[metric.name];
  if (value === undefined || !Number.isFinite(value)) {
    throw new RegistryError(`run ${runId} has no finite value for the primary metric '${metric.name}'; log it on the run or pass it in metrics`);
  }
  headline[metric.name] = value;

  await client.getOrCreateRegisteredModel(modelName, 'Curio recall bundle: user model, item-unit, keyword model, Faiss index, config');
  const source = `mlflow-artifacts:/${MlflowClient.artifactRootPath(run)}/${bundlePath}`;
  const runTags = fromKeyValues(run.data.tags);

  // A retry finds what the first attempt registered instead of adding a version.
  const existing = (await client.searchModelVersions(`name='${modelName}' and run_id='${runId}'`)).find(
    (v) => fromKeyValues(v.tags)[VERSION_TAGS.bundlePath] === bundlePath,
  );
  const version =
    existing ??
    (await client.createModelVersion({
      name: modelName,
      source,
      runId,
      ...(input.description ? { description: input.description } : {}),
      tags: {
        ...input.tags,
        [VERSION_TAGS.primaryMetric]: metric.name,
        [VERSION_TAGS.primaryValue]: String(value),
        [VERSION_TAGS.higherIsBetter]: String(metric.higherIsBetter),
        [VERSION_TAGS.bundlePath]: bundlePath,
        ...(runTags[TAGS.key] ? { [VERSION_TAGS.runKey]: runTags[TAGS.key] } : {}),
        ...(input.datasetDigest ? { [VERSION_TAGS.datasetDigest]: input.datasetDigest } : {}),
        ...Object.fromEntries(Object.entries(headline).map(([k, v]) => [`${VERSION_TAGS.metricPrefix}${k}`, String(v)])),
      },
    }));
  const url = mlflowModelVersionUrl(client.trackingUri, modelName, version.version);
  const base = { modelName, version: version.version, primaryMetric: metric.name, value, source: version.source ?? source, url };

  const recorded = fromKeyValues(version.tags);
  const recordedDecision = recorded[VERSION_TAGS.decision];
  if (existing && (recordedDecision === 'promoted' || recordedDecision === 'challenger')) {
    const prev = recorded[VERSION_TAGS.previousChampion];
    // The first attempt may have crashed between recording and moving the alias: finish the move,
    // unless a later registration has moved that alias on since.
    const alias = recordedDecision === 'promoted' ? championAlias : challengerAlias;
    const holder = await client.getModelVersionByAlias(modelName, alias);
    const stillOurs =
      recordedDecision === 'promoted'
        ? holder === undefined || holder.version === prev
        : holder === undefined || Number(holder.version) < Number(version.version);
    if (stillOurs && holder?.version !== version.version) await client.setAlias(modelName, alias, version.version);
    await tagRun(client, runId, modelName, version.version, recordedDecision);
    return {
      ...base,
      decision: recordedDecision,
      reason: recorded[VERSION_TAGS.reason] ?? 'recorded by an earlier attempt',
      ...(prev ? { previousChampion: { version: prev, ...numberIf(await championValue(client, modelName, prev, metric.name)) } } : {}),
      alreadyRegistered: true,
    };
  }

  const champion = await client.getModelVersionByAlias(modelName, championAlias);
  let decision: Decision;
  let reason: string;
  let previousChampion: RegistrationResult['previousChampion'];
  if (input.gate?.blocked) {
    decision = 'challenger';
    reason = input.gate.reason;
    if (champion && champion.version !== version.version) previousChampion = { version: champion.version };
  } else if (!champion) {
    decision = 'promoted';
    reason = `no ${championAlias} yet: the first version becomes ${championAlias}`;
  } else if (champion.version === version.version) {
    decision = 'promoted';
    reason = `already ${championAlias}`;
  } else {
    // Raw metrics compare only on the same data; across datasets, the metric relative to a baseline.
    const championData = fromKeyValues(champion.tags)[VERSION_TAGS.datasetDigest];
    const sameData = input.datasetDigest !== undefined && championData === input.datasetDigest;
    const compared = !sameData && input.crossDatasetMetric ? { ...metric, name: input.crossDatasetMetric } : metric;
    const mine = compared.name === metric.name ? value : headline[compared.name];
    const incumbent = await championValue(client, modelName, champion, compared.name);
    previousChampion = { version: champion.version, ...numberIf(incumbent) };
    const dir = compared.higherIsBetter ? 'higher' : 'lower';
    const basis = sameData
      ? 'same dataset: '
      : compared.name !== metric.name
        ? `${championAlias} v${champion.version} was measured on ${championData ? `dataset ${championData.slice(0, 12)}` : 'unrecorded data'}, this version on ${input.datasetDigest?.slice(0, 12) ?? 'unrecorded data'}, so they are compared relative to the baseline: `
        : '';
    if (incumbent === undefined || mine === undefined || !Number.isFinite(mine)) {
      decision = 'challenger';
      reason = `${basis}${incumbent === undefined ? `${championAlias} v${champion.version}` : 'this version'} has no value for ${compared.name}; not comparable, so not promoted`;
    } else if (beats(mine, incumbent, compared)) {
      decision = 'promoted';
      reason = `${basis}${compared.name} ${fmt(mine)} beats ${championAlias} v${champion.version}'s ${fmt(incumbent)} (${dir} is better${compared.minDelta ? `, margin ${compared.minDelta}` : ''})`;
    } else {
      decision = 'challenger';
      reason = `${basis}${compared.name} ${fmt(mine)} does not beat ${championAlias} v${champion.version}'s ${fmt(incumbent)} (${dir} is better${compared.minDelta ? `, margin ${compared.minDelta}` : ''})`;
    }
  }
  if (input.gate && !input.gate.blocked) reason += `; ${input.gate.reason}`;

  // Record the decision before moving aliases: a retry after a crash in between redoes only the moves.
  const decisionTags: Record<string, string> = {
    [VERSION_TAGS.decision]: decision,
    [VERSION_TAGS.reason]: reason,
    ...(previousChampion ? { [VERSION_TAGS.previousChampion]: previousChampion.version } : {}),
  };
  for (const [k, v] of Object.entries(decisionTags)) await client.setModelVersionTag(modelName, version.version, k, v);
  await client.setAlias(modelName, decision === 'promoted' ? championAlias : challengerAlias, version.version);
  await tagRun(client, runId, modelName, version.version, decision);

  return { ...base, decision, reason, ...(previousChampion ? { previousChampion } : {}), alreadyRegistered: Boolean(existing) };
}

/** The current champion (or any alias) of a registered model, with its primary value when known. */
export async function getAliased(
  client: MlflowClient,
  modelName = DEFAULT_MODEL_NAME,
  alias = 'champion',
): Promise<(ModelVersion & { primaryMetric?: string; value?: number }) | undefined> {
  const v = await client.getModelVersionByAlias(modelName, alias);
  if (!v) return undefined;
  const tags = fromKeyValues(v.tags);
  const value = Number(tags[VERSION_TAGS.primaryValue]);
  return {
    ...v,
    ...(tags[VERSION_TAGS.primaryMetric] ? { primaryMetric: tags[VERSION_TAGS.primaryMetric] } : {}),
    ...(Number.isFinite(value) ? { value } : {}),
  };
}

/**
 * The champion's value of `metricName`: its `metric.<name>` tag, else its primary value if the
 * primary metric was the same, else the metric on its run (the primary metric may have changed).
 */
async function championValue(client: MlflowClient, modelName: string, champion: ModelVersion | string, metricName: string): Promise<number | undefined> {
  const v = typeof champion === 'string' ? await client.getModelVersion(modelName, champion) : champion;
  const tags = fromKeyValues(v.tags);
  const candidates = [tags[`${VERSION_TAGS.metricPrefix}${metricName}`], tags[VERSION_TAGS.primaryMetric] === metricName ? tags[VERSION_TAGS.primaryValue] : undefined];
  for (const c of candidates) {
    const n = c === undefined ? NaN : Number(c);
    if (Number.isFinite(n)) return n;
  }
  if (v.run_id) {
    try {
      const run = await client.getRun(v.run_id);
      const m = (run.data.metrics ?? []).find((x) => x.key === metricName);
      if (m && Number.isFinite(m.value)) return m.value;
    } catch {
      /* the run may be gone; the version is then not comparable */
    }
  }
  return undefined;
}

/** The run points at its model version, so compare and the UI can go from run to registry. */
async function tagRun(client: MlflowClient, runId: string, modelName: string, version: string, decision: Decision): Promise<void> {
  await client.logBatch(runId, {
    tags: [
      { key: TAGS.modelVersion, value: `${modelName}/${version}` },
      { key: TAGS.registryDecision, value: decision },
    ],
  });
}

function numberIf(value: number | undefined): { value?: number } {
  return value === undefined ? {} : { value };
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toPrecision(4);
}
