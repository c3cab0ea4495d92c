import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CurioError } from '../platform/errors';

/**
 * A small typed client for MLflow's REST API (tracking, artifact proxy, model registry).
 * The npm `mlflow` package calls removed endpoints and lacks get-by-name, the registry and artifact
 * upload, so Curio talks to the documented REST endpoints directly.
 */

export interface KeyValue {
  key: string;
  value: string;
}

export interface Metric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: string;
  tags?: KeyValue[];
}

export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface RunInfo {
  run_id: string;
  run_name?: string;
  experiment_id: string;
  status: RunStatus;
  start_time?: number;
  end_time?: number;
  artifact_uri: string;
  lifecycle_stage: string;
}

export interface Run {
  info: RunInfo;
  data: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] };
  inputs?: { dataset_inputs?: DatasetInput[] };
}

export interface Dataset {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema?: string;
  profile?: string;
}

export interface DatasetInput {
  tags?: KeyValue[];
  dataset: Dataset;
}

export interface FileInfo {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

export interface RegisteredModel {
  name: string;
  latest_versions?: ModelVersion[];
  aliases?: { alias: string; version: string }[];
  tags?: KeyValue[];
}

export interface ModelVersion {
  name: string;
  version: string;
  run_id?: string;
  source?: string;
  status?: string;
  tags?: KeyValue[];
  aliases?: string[];
  description?: string;
}

/** MLflow's documented per-request limits for runs/log-batch. */
export const LOG_BATCH_LIMITS = { metrics: 1000, params: 100, tags: 100, total: 1000, bytes: 1_000_000 } as const;

export class MlflowError extends CurioError {
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode: string | undefined,
    readonly endpoint: string,
  ) {
    // Worth another attempt when the server was unreachable, failed or asked to slow down.
    super(message, { type: 'MlflowError', retryable: errorCode === 'UNREACHABLE' || status >= 500 || status === 429 });
  }

  get notFound(): boolean {
    return this.status === 404 || this.errorCode === 'RESOURCE_DOES_NOT_EXIST';
  }

  get alreadyExists(): boolean {
    return this.errorCode === 'RESOURCE_ALREADY_EXISTS';
  }
}

export interface MlflowClientOptions {
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Retries for connection errors and 5xx answers (requests here are idempotent or keyed). */
  retries?: number;
}

type Query = Record<string, string | number | undefined>;

export class MlflowClient {
  readonly trackingUri: string;
  private readonly timeoutMs: number;
  private readonly retries: number;

  constructor(trackingUri: string, options: MlflowClientOptions = {}) {
    this.trackingUri = trackingUri.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 2;
  }

  // ---- transport -------------------------------------------------------------------------

  private async request<T>(method: string, endpoint: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
    const url = new URL(`${this.trackingUri}/api/2.0/mlflow/${endpoint}`);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const init: RequestInit = { method, headers: { 'content-type': 'application/json' } };
    if (opts.body !== undefined) init.body = JSON.stringify(opts.body);
    const res = await this.fetchWithRetry(url, init, endpoint);
    const text = await res.text();
    if (!res.ok) throw this.toError(res.status, text, endpoint);
    return (text ? JSON.parse(text) : {}) as T;
  }

  private async fetchWithRetry(url: URL, init: RequestInit, endpoint: string): Promise<Response> {
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
      try {
        const res = await fetch(url, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
        if (res.status >= 500 && attempt < this.retries && !isStreamBody(init.body)) {
          lastError = this.toError(res.status, await res.text(), endpoint);
          continue;
        }
        return res;
      } catch (err) {
        lastError = err;
        if (isStreamBody(init.body)) break; // a consumed stream cannot be re-sent
      }
    }
    const reason = lastError instanceof Error ? lastError.message : String(lastError);
    throw new MlflowError(`MLflow at ${this.trackingUri} is unreachable (${endpoint}): ${reason}`, 0, 'UNREACHABLE', endpoint);
  }

  private toError(status: number, text: string, endpoint: string): MlflowError {
    let code: string | undefined;
    let message = text;
    try {
      const body = JSON.parse(text) as { error_code?: string; message?: string };
      code = body.error_code;
      message = body.message ?? text;
    } catch {
      /* not JSON: keep the raw text */
    }
    return new MlflowError(`MLflow ${endpoint} failed (${status}${code ? ` ${code}` : ''}): ${message}`, status, code, endpoint);
  }

  // ---- experiments -----------------------------------------------------------------------

  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    try {
      const res = await this.request<{ experiment: Experiment }>('GET', 'experiments/get-by-name', {
        query: { experiment_name: name },
      });
      return res.experiment;
    } catch (err) {
      if (err instanceof MlflowError && err.notFound) return undefined;
      throw err;
    }
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    const res = await this.request<{ experiment: Experiment }>('GET', 'experiments/get', {
      query: { experiment_id: experimentId },
    });
    return res.experiment;
  }

  /** Returns the experiment's id, creating it first if needed (safe under concurrent callers). */
  async getOrCreateExperiment(name: string, tags: Record<string, string> = {}): Promise<string> {
    const existing = await this.getExperimentByName(name);
    if (existing) return existing.experiment_id;
    try {
      const res = await this.request<{ experiment_id: string }>('POST', 'experiments/create', {
        body: { name, tags: toKeyValues(tags) },
      });
      return res.experiment_id;
    } catch (err) {
      if (err instanceof MlflowError && err.alreadyExists) {
        const again = await this.getExperimentByName(name);
        if (again) return again.experiment_id;
      }
      throw err;
    }
  }

  // ---- runs ------------------------------------------------------------------------------

  async createRun(args: {
    experimentId: string;
    runName?: string;
    tags?: Record<string, string>;
    startTime?: number;
  }): Promise<Run> {
    const res = await this.request<{ run: Run }>('POST', 'runs/create', {
      body: {
        experiment_id: args.experimentId,
        run_name: args.runName,
        start_time: args.startTime ?? Date.now(),
        tags: toKeyValues(args.tags ?? {}),
      },
    });
    return res.run;
  }

  async getRun(runId: string): Promise<Run> {
    const res = await this.request<{ run: Run }>('GET', 'runs/get', { query: { run_id: runId } });
    return decodeRun(res.run);
  }

  /** Marks a run deleted (it leaves default searches); used to drop a duplicate created by a race. */
  async deleteRun(runId: string): Promise<void> {
    await this.request('POST', 'runs/delete', { body: { run_id: runId } });
  }

  async updateRun(runId: string, status: RunStatus, endTime?: number): Promise<void> {
    await this.request('POST', 'runs/update', {
      body: { run_id: runId, status, end_time: endTime ?? (status === 'RUNNING' ? undefined : Date.now()) },
    });
  }

  async setTag(runId: string, key: string, value: string): Promise<void> {
    await this.request('POST', 'runs/set-tag', { body: { run_id: runId, key, value } });
  }

  /** One page of runs/search; `searchAllRuns` follows the page tokens. */
  async searchRuns(args: {
    experimentIds: string[];
    filter?: string;
    orderBy?: string[];
    maxResults?: number;
    pageToken?: string;
  }): Promise<{ runs: Run[]; nextPageToken?: string }> {
    const res = await this.request<{ runs?: Run[]; next_page_token?: string }>('POST', 'runs/search', {
      body: {
        experiment_ids: args.experimentIds,
        filter: args.filter ?? '',
        order_by: args.orderBy,
        max_results: args.maxResults ?? 1000,
        page_token: args.pageToken,
      },
    });
    return { runs: (res.runs ?? []).map(decodeRun), ...(res.next_page_token ? { nextPageToken: res.next_page_token } : {}) };
  }

  async searchAllRuns(args: { experimentIds: string[]; filter?: string; orderBy?: string[] }): Promise<Run[]> {
    const out: Run[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.searchRuns({ ...args, ...(pageToken ? { pageToken } : {}) });
      out.push(...page.runs);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return out;
  }

  /**
   * Logs metrics, params and tags, split into as many runs/log-batch requests as MLflow's limits
   * require (1000 metrics, 100 params, 100 tags, 1000 entities and 1 MB per request).
   */
  async logBatch(runId: string, batch: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] }): Promise<void> {
    for (const chunk of chunkBatch(batch)) {
      const metrics = chunk.metrics.map((m) => ({ ...m, value: encodeMetricValue(m.value) }));
      await this.request('POST', 'runs/log-batch', { body: { run_id: runId, ...chunk, metrics } });
    }
  }

  async logParams(runId: string, params: Record<string, string | number | boolean>): Promise<void> {
    await this.logBatch(runId, {
      params: Object.entries(params).map(([key, value]) => ({ key, value: String(value) })),
    });
  }

  async logMetrics(runId: string, metrics: Record<string, number>, step = 0, timestamp = Date.now()): Promise<void> {
    await this.logBatch(runId, {
      metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, step, timestamp })),
    });
  }

  /** Every point of one metric of a run, following the page tokens of long histories. */
  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    const out: Metric[] = [];
    let pageToken: string | undefined;
    do {
      const res = await this.request<{ metrics?: RawMetric[]; next_page_token?: string }>('GET', 'metrics/get-history', {
        query: { run_id: runId, metric_key: key, max_results: 25000, page_token: pageToken },
      });
      for (const m of res.metrics ?? []) out.push(decodeMetric(m));
      pageToken = res.next_page_token || undefined;
    } while (pageToken);
    return out;
  }

  async logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    await this.request('POST', 'runs/log-inputs', { body: { run_id: runId, datasets } });
  }

  // ---- artifacts (through the tracking server's artifact proxy) --------------------------

  /** The proxy path of a run's artifact root, e.g. "1/<run_id>/artifacts". */
  static artifactRootPath(run: Run): string {
    const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/*(.*)$/.exec(run.info.artifact_uri);
    if (!m) {
      throw new Error(
        `run ${run.info.run_id} stores artifacts at ${run.info.artifact_uri}, not behind the tracking server's proxy; ` +
          'start MLflow with --artifacts-destination',
      );
    }
    return (m[1] ?? '').replace(/\/+$/, '');
  }

  private artifactUrl(run: Run, artifactPath?: string): URL {
    const root = MlflowClient.artifactRootPath(run);
    const rel = artifactPath ? `/${artifactPath.replace(/^\/+/, '')}` : '';
    const encoded = `${root}${rel}`.split('/').map(encodeURIComponent).join('/');
    return new URL(`${this.trackingUri}/api/2.0/mlflow-artifacts/artifacts/${encoded}`);
  }

  async uploadArtifact(run: Run, artifactPath: string, data: Buffer | string): Promise<void> {
    const url = this.artifactUrl(run, artifactPath);
    const res = await this.fetchWithRetry(url, { method: 'PUT', body: data }, 'mlflow-artifacts/upload');
    if (!res.ok) throw this.toError(res.status, await res.text(), `mlflow-artifacts/upload ${artifactPath}`);
  }

  /** Streams a local file to the run's artifacts, so large indexes never sit in memory whole. */
  async uploadArtifactFile(run: Run, artifactPath: string, localPath: string): Promise<void> {
    const { size } = await stat(localPath);
    const url = this.artifactUrl(run, artifactPath);
    const body = Readable.toWeb(createReadStream(localPath)) as unknown as ReadableStream;
    const init = { method: 'PUT', body, duplex: 'half', headers: { 'content-length': String(size) } } as RequestInit;
    const res = await this.fetchWithRetry(url, init, 'mlflow-artifacts/upload');
    if (!res.ok) throw this.toError(res.status, await res.text(), `mlflow-artifacts/upload ${artifactPath}`);
  }

  async downloadArtifact(run: Run, artifactPath: string): Promise<Buffer> {
    const res = await this.fetchWithRetry(this.artifactUrl(run, artifactPath), { method: 'GET' }, 'mlflow-artifacts/download');
    if (!res.ok) throw this.toError(res.status, await res.text(), `mlflow-artifacts/download ${artifactPath}`);
    return Buffer.from(await res.arrayBuffer());
  }

  async downloadArtifactToFile(run: Run, artifactPath: string, localPath: string): Promise<void> {
    const res = await this.fetchWithRetry(this.artifactUrl(run, artifactPath), { method: 'GET' }, 'mlflow-artifacts/download');
    if (!res.ok || !res.body) throw this.toError(res.status, await res.text(), `mlflow-artifacts/download ${artifactPath}`);
    await mkdir(dirname(localPath), { recursive: true });
    await pipeline(Readable.fromWeb(res.body as never), createWriteStream(localPath));
  }

  /** Lists one folder of a run's artifacts (paths relative to the run's artifact root). */
  async listArtifacts(run: Run, folder?: string): Promise<FileInfo[]> {
    const root = MlflowClient.artifactRootPath(run);
    const path = folder ? `${root}/${folder.replace(/^\/+|\/+$/g, '')}` : root;
    const url = new URL(`${this.trackingUri}/api/2.0/mlflow-artifacts/artifacts`);
    url.searchParams.set('path', path);
    const res = await this.fetchWithRetry(url, { method: 'GET' }, 'mlflow-artifacts/list');
    const text = await res.text();
    if (!res.ok) throw this.toError(res.status, text, 'mlflow-artifacts/list');
    const files = ((text ? JSON.parse(text) : {}) as { files?: FileInfo[] }).files ?? [];
    const prefix = folder ? `${folder.replace(/^\/+|\/+$/g, '')}/` : '';
    return files.map((f) => ({ ...f, path: `${prefix}${f.path}` }));
  }

  // ---- model registry --------------------------------------------------------------------

  async getRegisteredModel(name: string): Promise<RegisteredModel | undefined> {
    try {
      const res = await this.request<{ registered_model: RegisteredModel }>('GET', 'registered-models/get', {
        query: { name },
      });
      return res.registered_model;
    } catch (err) {
      if (err instanceof MlflowError && err.notFound) return undefined;
      throw err;
    }
  }

  async getOrCreateRegisteredModel(name: string, description?: string): Promise<RegisteredModel> {
    const existing = await this.getRegisteredModel(name);
    if (existing) return existing;
    try {
      const res = await this.request<{ registered_model: RegisteredModel }>('POST', 'registered-models/create', {
        body: { name, description },
      });
      return res.registered_model;
    } catch (err) {
      if (err instanceof MlflowError && err.alreadyExists) {
        const again = await this.getRegisteredModel(name);
        if (again) return again;
      }
      throw err;
    }
  }

  async createModelVersion(args: {
    name: string;
    source: string;
    runId?: string;
    tags?: Record<string, string>;
    description?: string;
  }): Promise<ModelVersion> {
    const res = await this.request<{ model_version: ModelVersion }>('POST', 'model-versions/create', {
      body: {
        name: args.name,
        source: args.source,
        run_id: args.runId,
        tags: toKeyValues(args.tags ?? {}),
        description: args.description,
      },
    });
    return res.model_version;
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    const res = await this.request<{ model_version: ModelVersion }>('GET', 'model-versions/get', {
      query: { name, version },
    });
    return res.model_version;
  }

  async searchModelVersions(filter: string): Promise<ModelVersion[]> {
    const res = await this.request<{ model_versions?: ModelVersion[] }>('GET', 'model-versions/search', {
      query: { filter, max_results: 1000 },
    });
    return res.model_versions ?? [];
  }

  async setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    await this.request('POST', 'model-versions/set-tag', { body: { name, version, key, value } });
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.request('POST', 'registered-models/alias', { body: { name, alias, version } });
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    try {
      await this.request('DELETE', 'registered-models/alias', { body: { name, alias } });
    } catch (err) {
      if (!(err instanceof MlflowError && err.notFound)) throw err;
    }
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion | undefined> {
    try {
      const res = await this.request<{ model_version: ModelVersion }>('GET', 'registered-models/alias', {
        query: { name, alias },
      });
      return res.model_version;
    } catch (err) {
      if (err instanceof MlflowError && (err.notFound || err.errorCode === 'INVALID_PARAMETER_VALUE')) return undefined;
      throw err;
    }
  }

  /** True when the server answers its health endpoint. */
  async healthy(): Promise<boolean> {
    try {
      const res = await fetch(`${this.trackingUri}/health`, { signal: AbortSignal.timeout(3000) });
      return res.ok;
    } catch {
      return false;
    }
  }
}

/** A metric as the server sends it: non-finite values travel as the strings "NaN", "Infinity", "-Infinity". */
type RawMetric = Omit<Metric, 'value'> & { value: number | string };

/** JSON has no NaN or Infinity; MLflow's protobuf JSON accepts them as strings. */
export function encodeMetricValue(value: number): number | string {
  return Number.isFinite(value) ? value : String(value);
}

function decodeMetric(m: RawMetric): Metric {
  return { ...m, value: typeof m.value === 'number' ? m.value : Number(m.value) };
}

function decodeRun(run: Run): Run {
  const metrics = run.data?.metrics;
  if (!metrics) return run;
  return { ...run, data: { ...run.data, metrics: (metrics as RawMetric[]).map(decodeMetric) } };
}

function isStreamBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !(body instanceof Uint8Array) && !(typeof body === 'string');
}

export function toKeyValues(record: Record<string, string | number | boolean>): KeyValue[] {
  return Object.entries(record).map(([key, value]) => ({ key, value: String(value) }));
}

export function fromKeyValues(list: KeyValue[] | undefined): Record<string, string> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, kv.value]));
}

/** Splits a batch so that every piece respects LOG_BATCH_LIMITS. */
export function chunkBatch(batch: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] }): {
  metrics: Metric[];
  params: KeyValue[];
  tags: KeyValue[];
}[] {
  const queue: { kind: 'metrics' | 'params' | 'tags'; item: Metric | KeyValue; bytes: number }[] = [];
  for (const kind of ['params', 'tags', 'metrics'] as const) {
    for (const item of batch[kind] ?? []) queue.push({ kind, item, bytes: JSON.stringify(item).length + 1 });
  }
  const chunks: { metrics: Metric[]; params: KeyValue[]; tags: KeyValue[] }[] = [];
  let cur = { metrics: [] as Metric[], params: [] as KeyValue[], tags: [] as KeyValue[] };
  let bytes = 0;
  const headroom = 10_000; // the run id and JSON framing
  for (const { kind, item, bytes: b } of queue) {
    const total = cur.metrics.length + cur.params.length + cur.tags.length;
    const full =
      total >= LOG_BATCH_LIMITS.total ||
      cur[kind].length >= LOG_BATCH_LIMITS[kind] ||
      bytes + b > LOG_BATCH_LIMITS.bytes - headroom;
    if (full && total > 0) {
      chunks.push(cur);
      cur = { metrics: [], params: [], tags: [] };
      bytes = 0;
    }
    (cur[kind] as (Metric | KeyValue)[]).push(item);
    bytes += b;
  }
  if (cur.metrics.length + cur.params.length + cur.tags.length > 0) chunks.push(cur);
  return chunks;
}
