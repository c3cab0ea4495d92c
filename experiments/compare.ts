import { mlflowRunUrl } from './lineage';
import { fromKeyValues, MlflowClient, type Run } from './mlflowClient';
import { keyId, TAGS } from './naming';
import { DEFAULT_MODEL_NAME, getAliased } from './registry';
import { renderReport } from './report';
import { formatNumber, signed } from './svg';
import { DEFAULT_EXPERIMENT } from './tracking';
import { CurioError } from '../platform/errors';
import type { Comparison, FlatRun, RunSnapshot } from './comparison';

/**
 * Side-by-side comparison of retrains: every metric of each run tree (children flattened as
 * `<child>/<metric>`), the params that differ, and an HTML report logged next to the newer run.
 * It reads whatever metrics exist; the naming convention in docs/tracking.md decides which ones
 * get charts (curves for stepped metrics, bars for `*_at_K`, intervals for `*_ci_low/high`).
 */

export type { Comparison, FlatRun, RunSnapshot } from './comparison';

export class CompareError extends CurioError {
  constructor(message: string) {
    super(message, { type: 'CompareError', retryable: false });
  }
}

// ---- reading run trees ------------------------------------------------------------------

export async function snapshotRun(client: MlflowClient, runId: string, options: { depth?: number } = {}): Promise<RunSnapshot> {
  return snapshotOf(client, await client.getRun(runId), options.depth ?? 2);
}

async function snapshotOf(client: MlflowClient, run: Run, depth: number): Promise<RunSnapshot> {
  const tags = fromKeyValues(run.data.tags);
  const metrics: Record<string, number> = {};
  const histories: RunSnapshot['histories'] = {};
  for (const m of run.data.metrics ?? []) {
    metrics[m.key] = m.value;
    // Only stepped metrics (curves) need their history; summaries are fully in the run itself.
    if (m.step > 0) histories[m.key] = (await client.getMetricHistory(run.info.run_id, m.key)).map((p) => ({ step: p.step, value: p.value })).sort((a, b) => a.step - b.step);
  }
  const children: RunSnapshot[] = [];
  if (depth > 0) {
    const kids = await client.searchAllRuns({ experimentIds: [run.info.experiment_id], filter: `tags.\`${TAGS.mlflowParentRunId}\` = '${run.info.run_id}'` });
    for (const k of kids.sort((a, b) => runName(a).localeCompare(runName(b)))) children.push(await snapshotOf(client, k, depth - 1));
  }
  return {
    runId: run.info.run_id,
    experimentId: run.info.experiment_id,
    name: runName(run),
    ...(tags[TAGS.key] ? { key: tags[TAGS.key] } : {}),
    ...(tags[TAGS.kind] ? { kind: tags[TAGS.kind] } : {}),
    status: run.info.status,
    ...(run.info.start_time ? { startTime: Number(run.info.start_time) } : {}),
    params: fromKeyValues(run.data.params),
    metrics,
    histories,
    tags,
    children,
  };
}

function runName(run: Run): string {
  return run.info.run_name || fromKeyValues(run.data.tags)[TAGS.mlflowRunName] || run.info.run_id.slice(0, 8);
}

export function flattenRun(snapshot: RunSnapshot, label: string): FlatRun {
  const flat: FlatRun = { label, snapshot, metrics: new Map(), params: new Map(), curves: new Map() };
  const walk = (node: RunSnapshot, prefix: string) => {
    for (const [k, v] of Object.entries(node.metrics)) flat.metrics.set(prefix + k, v);
    for (const [k, v] of Object.entries(node.params)) flat.params.set(prefix + k, v);
    for (const [k, v] of Object.entries(node.histories)) flat.curves.set(prefix + k, v);
    const seen = new Set<string>();
    for (const c of node.children) {
      // Children match across runs by name; a duplicate name within one run gets its id appended.
      const name = seen.has(c.name) ? `${c.name}#${c.runId.slice(0, 6)}` : c.name;
      seen.add(c.name);
      walk(c, `${prefix}${name}/`);
    }
  };
  walk(snapshot, '');
  return flat;
}

/** Parent-level names first, then by path. */
function byPath(a: string, b: string): number {
  return a.split('/').length - b.split('/').length || a.localeCompare(b);
}

export function buildComparison(runs: FlatRun[]): Comparison {
  const ordered = [...runs].sort((a, b) => (a.snapshot.startTime ?? 0) - (b.snapshot.startTime ?? 0));
  const metricNames = [...new Set(ordered.flatMap((r) => [...r.metrics.keys()]))].sort(byPath);
  const paramNames = [...new Set(ordered.flatMap((r) => [...r.params.keys()]))].sort(byPath);
  const paramRows = paramNames
    .map((name) => ({ name, values: ordered.map((r) => r.params.get(name)) }))
    .filter((row) => new Set(row.values.map((v) => v ?? '\u0000missing')).size > 1);
  return {
    runs: ordered,
    metricRows: metricNames.map((name) => ({ name, values: ordered.map((r) => r.metrics.get(name)) })),
    paramRows,
    identicalParams: paramNames.length - paramRows.length,
  };
}

// ---- the text table ---------------------------------------------------------------------

export function formatComparison(c: Comparison): string {
  const lines: string[] = ['Runs'];
  c.runs.forEach((r) => {
    const s = r.snapshot;
    const started = s.startTime ? new Date(s.startTime).toISOString().replace('T', ' ').slice(0, 19) : '?';
    lines.push(`  ${r.label}: ${s.name}  ${s.runId}  ${started}  ${s.status}${s.tags[TAGS.modelVersion] ? `  ${s.tags[TAGS.modelVersion]}` : ''}`);
  });
  const heads = c.runs.map((r) => r.label.split(' ')[0] ?? r.label);
  const two = c.runs.length === 2;
  const metricTable = c.metricRows.map((row) => {
    const cells = [row.name, ...row.values.map((v) => (v === undefined ? '—' : formatNumber(v)))];
    if (two) {
      const [a, b] = row.values;
      if (a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b)) {
        const d = b - a;
        cells.push(signed(d), a !== 0 ? `${d > 0 ? '+' : ''}${((d / Math.abs(a)) * 100).toFixed(1)}%` : '');
      } else cells.push('', '');
    }
    return cells;
  });
  lines.push('', ...table(['metric', ...heads, ...(two ? [`Δ (${heads[1]}−${heads[0]})`, 'Δ%'] : [])], metricTable));
  lines.push('', c.paramRows.length ? `Params that differ (${c.identicalParams} identical not shown)` : `Params: all ${c.identicalParams} identical`);
  if (c.paramRows.length) {
    lines.push(...table(['param', ...heads], c.paramRows.map((row) => [row.name, ...row.values.map((v) => (v === undefined ? '—' : truncate(v, 40)))])));
  }
  return lines.join('\n');
}

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]) =>
    `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`.trimEnd();
  return [fmt(head), `  ${widths.map((w) => '-'.repeat(w)).join('  ')}`, ...rows.map(fmt)];
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

// ---- choosing the runs --------------------------------------------------------------------

export interface CompareTarget {
  runId: string;
  /** How the run was chosen: "champion v3", "latest retrain", a key, an id. */
  role: string;
}

export interface CompareContext {
  client: MlflowClient;
  experimentName?: string;
  modelName?: string;
}

/**
 * A run specifier: a 32-hex run id; `champion`, `challenger` or `@<alias>` (a registered-model
 * alias); `v<N>` (model version N); `latest` / `latest~1` (the newest retrain, the one before);
 * anything else is a Curio run key (`<workflowId>/<temporalRunId>`).
 */
export async function resolveRunSpec(ctx: CompareContext, spec: string): Promise<CompareTarget> {
  const { client } = ctx;
  const modelName = ctx.modelName ?? DEFAULT_MODEL_NAME;
  const s = spec.trim();
  if (/^[0-9a-f]{32}$/.test(s)) return { runId: s, role: `run ${s.slice(0, 8)}` };
  const alias = s === 'champion' || s === 'challenger' ? s : s.startsWith('@') ? s.slice(1) : undefined;
  if (alias) {
    const v = await getAliased(client, modelName, alias);
    if (!v?.run_id) throw new CompareError(`registered model '${modelName}' has no version with alias '${alias}'`);
    return { runId: v.run_id, role: `${alias} v${v.version}` };
  }
  const version = /^v(\d+)$/.exec(s)?.[1];
  if (version) {
    const v = await client.getModelVersion(modelName, version);
    if (!v.run_id) throw new CompareError(`${modelName} v${version} is not linked to a run`);
    return { runId: v.run_id, role: `v${version}` };
  }
  const latest = /^latest(?:~(\d+))?$/.exec(s);
  const experimentId = await experimentIdOf(ctx);
  if (latest) {
    const back = Number(latest[1] ?? 0);
    const runs = await latestRetrains(client, experimentId, back + 1);
    const run = runs[back];
    if (!run) throw new CompareError(`experiment '${ctx.experimentName ?? DEFAULT_EXPERIMENT}' has fewer than ${back + 1} retrain runs`);
    return { runId: run.info.run_id, role: back ? `latest~${back}` : 'latest retrain' };
  }
  const { runs } = await client.searchRuns({ experimentIds: [experimentId], filter: `tags.\`${TAGS.keyId}\` = '${keyId(s)}'`, maxResults: 5 });
  const run = runs.find((r) => fromKeyValues(r.data.tags)[TAGS.key] === s);
  if (!run) throw new CompareError(`no run with id, alias, version or key '${s}' (experiment '${ctx.experimentName ?? DEFAULT_EXPERIMENT}')`);
  return { runId: run.info.run_id, role: `key ${truncate(s, 40)}` };
}

/**
 * The default comparison: the latest retrain against the champion's run; when the latest retrain
 * is the champion (or there is none), against the retrain before it.
 */
export async function defaultTargets(ctx: CompareContext): Promise<CompareTarget[]> {
  const experimentId = await experimentIdOf(ctx);
  const [latest, previous] = await latestRetrains(ctx.client, experimentId, 2);
  if (!latest) throw new CompareError(`experiment '${ctx.experimentName ?? DEFAULT_EXPERIMENT}' has no retrain runs yet`);
  const champion = await getAliased(ctx.client, ctx.modelName ?? DEFAULT_MODEL_NAME, 'champion');
  const latestTarget = { runId: latest.info.run_id, role: 'latest retrain' };
  if (champion?.run_id && champion.run_id !== latest.info.run_id) return [{ runId: champion.run_id, role: `champion v${champion.version}` }, latestTarget];
  if (previous) {
    const role = champion?.run_id === latest.info.run_id ? `latest retrain = champion v${champion.version}` : 'latest retrain';
    return [{ runId: previous.info.run_id, role: 'previous retrain' }, { ...latestTarget, role }];
  }
  throw new CompareError('only one retrain and no other champion: nothing to compare against; name two runs');
}

async function experimentIdOf(ctx: CompareContext): Promise<string> {
  const name = ctx.experimentName ?? DEFAULT_EXPERIMENT;
  const exp = await ctx.client.getExperimentByName(name);
  if (!exp) throw new CompareError(`MLflow has no experiment '${name}'`);
  return exp.experiment_id;
}

async function latestRetrains(client: MlflowClient, experimentId: string, n: number): Promise<Run[]> {
  const { runs } = await client.searchRuns({
    experimentIds: [experimentId],
    filter: `tags.\`${TAGS.kind}\` = 'retrain'`,
    orderBy: ['attributes.start_time DESC'],
    maxResults: n,
  });
  return runs;
}

// ---- the whole command -----------------------------------------------------------------

export interface CompareOptions extends CompareContext {
  /** Run specifiers (see resolveRunSpec); default: latest retrain vs champion. */
  runs?: string[];
  /** How deep to read child runs (2: stages and models, and the runs under sweep points). */
  depth?: number;
  /** Log the HTML report as an artifact of the newest compared run (default true). */
  logArtifact?: boolean;
}

export interface CompareResult {
  comparison: Comparison;
  text: string;
  html: string;
  artifact?: { runId: string; path: string; runUrl: string };
}

export async function compareRuns(options: CompareOptions): Promise<CompareResult> {
  const targets = options.runs?.length ? await Promise.all(options.runs.map((s) => resolveRunSpec(options, s))) : await defaultTargets(options);
  const unique = targets.filter((t, i) => targets.findIndex((u) => u.runId === t.runId) === i);
  if (unique.length < 2) throw new CompareError(`need at least two different runs to compare, got ${unique.map((t) => t.role).join(', ')}`);
  if (unique.length > 8) throw new CompareError('compare at most 8 runs at once');
  const snapshots = await Promise.all(unique.map((t) => snapshotRun(options.client, t.runId, { depth: options.depth ?? 2 })));
  // Letters follow age (A oldest), so "B−A" reads as "newer minus older".
  const order = snapshots.map((s, i) => ({ s, t: unique[i]! })).sort((a, b) => (a.s.startTime ?? 0) - (b.s.startTime ?? 0));
  const flats = order.map(({ s, t }, i) => flattenRun(s, `${String.fromCharCode(65 + i)} (${t.role})`));
  const comparison = buildComparison(flats);
  const text = formatComparison(comparison);
  const html = renderReport(comparison, { trackingUri: options.client.trackingUri });
  let artifact: CompareResult['artifact'];
  if (options.logArtifact ?? true) {
    const newest = comparison.runs[comparison.runs.length - 1]!.snapshot;
    const others = comparison.runs.slice(0, -1).map((r) => r.snapshot.runId.slice(0, 8));
    const path = `reports/compare_${others.join('_')}.html`;
    const run = await options.client.getRun(newest.runId);
    await options.client.uploadArtifact(run, path, html);
    artifact = { runId: newest.runId, path, runUrl: mlflowRunUrl(options.client.trackingUri, newest.experimentId, newest.runId) };
  }
  return { comparison, text, html, ...(artifact ? { artifact } : {}) };
}
