import type { Comparison, FlatRun } from './comparison';
import { mlflowRunUrl } from './lineage';
import { AT_K, CI_HIGH, CI_LOW, TAGS } from './naming';
import { barChart, escapeXml, formatNumber, intervalChart, lineChart, PALETTE, signed } from './svg';

/**
 * The comparison as one self-contained HTML page (inline SVG, inline CSS, no script), so it opens
 * from the MLflow UI's artifact viewer. Charts come from the naming convention:
 *   curves     every metric with more than one step (loss per epoch), one chart per model
 *   bars       `<family>_at_<K>` (recall, hitrate, ndcg, ...), one chart per family and K, a group per model
 *   intervals  `<m>` with `<m>_ci_low` and `<m>_ci_high` (CTR lift), a row per run
 */

const CSS = `
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f5f5f5}td:first-child,th:first-child{text-align:left}
.grid{display:flex;flex-wrap:wrap;gap:12px}.pos{color:#1a7f37}.neg{color:#b42318}
.swatch{display:inline-block;width:10px;height:10px;margin-right:6px}
.muted{color:#777;font-size:12px}`;

export function renderReport(c: Comparison, options: { trackingUri?: string; title?: string; generatedAt?: Date } = {}): string {
  const title = options.title ?? `Curio retrain comparison: ${c.runs.map((r) => r.snapshot.name).join(' vs ')}`;
  const parts = [
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title><style>${CSS}</style></head><body>`,
    `<h1>${escapeXml(title)}</h1><p class="muted">generated ${escapeXml((options.generatedAt ?? new Date()).toISOString())} by curio compare</p>`,
    runsTable(c.runs, options.trackingUri),
    section('CTR lift with its interval', intervalCharts(c.runs)),
    section('Ranking metrics per model', atKCharts(c.runs)),
    section('Training curves', curveCharts(c.runs)),
    metricsTable(c),
    paramsTable(c),
    '</body></html>',
  ];
  return parts.join('\n');
}

function section(title: string, charts: string[]): string {
  if (!charts.length) return `<h2>${escapeXml(title)}</h2><p class="muted">no such metrics in these runs</p>`;
  return `<h2>${escapeXml(title)}</h2><div class="grid">${charts.join('')}</div>`;
}

function runsTable(runs: FlatRun[], trackingUri: string | undefined): string {
  const rows = runs.map((r, i) => {
    const s = r.snapshot;
    const link = trackingUri ? `<a href="${escapeXml(mlflowRunUrl(trackingUri, s.experimentId, s.runId))}" target="_top">${s.runId}</a>` : s.runId;
    const temporal = s.tags[TAGS.temporalUiUrl] ? `<a href="${escapeXml(s.tags[TAGS.temporalUiUrl]!)}" target="_top">workflow</a>` : '';
    const cells = [
      `<span class="swatch" style="background:${PALETTE[i % PALETTE.length]}"></span>${escapeXml(r.label)}`,
      escapeXml(s.name),
      link,
      s.startTime ? new Date(s.startTime).toISOString().replace('T', ' ').slice(0, 19) : '',
      s.status,
      escapeXml(s.tags[TAGS.datasetDigest]?.slice(0, 16) ?? ''),
      escapeXml(s.tags[TAGS.gitCommit]?.slice(0, 10) ?? ''),
      escapeXml(s.tags[TAGS.modelVersion] ?? ''),
      temporal,
    ];
    return `<tr>${cells.map((x) => `<td>${x}</td>`).join('')}</tr>`;
  });
  const head = ['run', 'name', 'MLflow run', 'started (UTC)', 'status', 'dataset', 'commit', 'model version', 'Temporal'];
  return `<h2>Runs</h2><table><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr>${rows.join('')}</table>`;
}

/** Splits `item_unit/recall_at_50` into the model path and the metric's own name. */
function split(name: string): { path: string; leaf: string } {
  const i = name.lastIndexOf('/');
  return i < 0 ? { path: '', leaf: name } : { path: name.slice(0, i), leaf: name.slice(i + 1) };
}

function intervalCharts(runs: FlatRun[]): string[] {
  const bases = new Set<string>();
  for (const r of runs) {
    for (const name of r.metrics.keys()) {
      if (name.endsWith(CI_LOW)) {
        const base = name.slice(0, -CI_LOW.length);
        if (r.metrics.has(base) && r.metrics.has(base + CI_HIGH)) bases.add(base);
      }
    }
  }
  // One chart per leaf name (ctr_lift), rows per run and place it was logged; the parent's copy first.
  const byLeaf = new Map<string, string[]>();
  for (const b of [...bases].sort((x, y) => x.split('/').length - y.split('/').length || x.localeCompare(y))) {
    const { leaf } = split(b);
    byLeaf.set(leaf, [...(byLeaf.get(leaf) ?? []), b]);
  }
  const charts: string[] = [];
  for (const [leaf, names] of byLeaf) {
    const rows = runs.flatMap((r) =>
      names
        .filter((n) => r.metrics.has(n))
        .slice(0, 1)
        .map((n) => ({ label: r.label, value: r.metrics.get(n)!, low: r.metrics.get(n + CI_LOW)!, high: r.metrics.get(n + CI_HIGH)! })),
    );
    charts.push(intervalChart({ title: `${leaf} with interval`, rows, xLabel: leaf, reference: 0 }));
  }
  return charts.filter(Boolean);
}

const FAMILY_ORDER = ['recall', 'hitrate', 'ndcg', 'diversity', 'coverage'];

function atKCharts(runs: FlatRun[]): string[] {
  // family_at_K -> model paths that have it
  const families = new Map<string, Set<string>>();
  for (const r of runs) {
    for (const name of r.metrics.keys()) {
      const { path, leaf } = split(name);
      if (AT_K.test(leaf)) families.set(leaf, (families.get(leaf) ?? new Set()).add(path));
    }
  }
  const rank = (leaf: string) => {
    const m = AT_K.exec(leaf)!;
    const f = FAMILY_ORDER.indexOf(m[1]!);
    return [f < 0 ? FAMILY_ORDER.length : f, m[1]!, Number(m[2])] as const;
  };
  const leaves = [...families.keys()].sort((a, b) => {
    const [fa, na, ka] = rank(a);
    const [fb, nb, kb] = rank(b);
    return fa - fb || na.localeCompare(nb) || ka - kb;
  });
  return leaves
    .map((leaf) => {
      const paths = [...families.get(leaf)!].sort();
      const m = AT_K.exec(leaf)!;
      return barChart({
        title: `${m[1]}@${m[2]} per model`,
        groups: paths.map((p) => p || '(retrain)'),
        series: runs.map((r) => ({ name: r.label, values: paths.map((p) => r.metrics.get(p ? `${p}/${leaf}` : leaf)) })),
        yLabel: `${m[1]}@${m[2]}`,
      });
    })
    .filter(Boolean);
}

function curveCharts(runs: FlatRun[]): string[] {
  const names = [...new Set(runs.flatMap((r) => [...r.curves.keys()]))].sort((a, b) => {
    // Loss curves first: they are what the report is mostly read for.
    const la = /loss/.test(split(a).leaf) ? 0 : 1;
    const lb = /loss/.test(split(b).leaf) ? 0 : 1;
    return la - lb || a.localeCompare(b);
  });
  return names
    .map((name) => {
      const { path, leaf } = split(name);
      return lineChart({
        title: path ? `${path}: ${leaf}` : leaf,
        series: runs.map((r) => ({ name: r.label, points: (r.curves.get(name) ?? []).map((p) => ({ x: p.step, y: p.value })) })),
        xLabel: 'step (epoch)',
        yLabel: leaf,
      });
    })
    .filter(Boolean);
}

function metricsTable(c: Comparison): string {
  const two = c.runs.length === 2;
  const head = ['metric', ...c.runs.map((r) => escapeXml(r.label)), ...(two ? ['Δ', 'Δ%'] : [])];
  const rows = c.metricRows.map((row) => {
    const cells = [escapeXml(row.name), ...row.values.map((v) => (v === undefined ? '—' : formatNumber(v)))];
    if (two) {
      const [a, b] = row.values;
      if (a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b)) {
        const d = b - a;
        const cls = d > 0 ? 'pos' : d < 0 ? 'neg' : '';
        cells.push(`<span class="${cls}">${signed(d)}</span>`, a !== 0 ? `${d > 0 ? '+' : ''}${((d / Math.abs(a)) * 100).toFixed(1)}%` : '');
      } else cells.push('', '');
    }
    return `<tr>${cells.map((x) => `<td>${x}</td>`).join('')}</tr>`;
  });
  return `<h2>Metrics</h2><table><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr>${rows.join('')}</table>`;
}

function paramsTable(c: Comparison): string {
  if (!c.paramRows.length) return `<h2>Params</h2><p class="muted">all ${c.identicalParams} params identical</p>`;
  const head = ['param', ...c.runs.map((r) => escapeXml(r.label))];
  const rows = c.paramRows.map((row) => `<tr>${[escapeXml(row.name), ...row.values.map((v) => (v === undefined ? '—' : escapeXml(v)))].map((x) => `<td>${x}</td>`).join('')}</tr>`);
  return `<h2>Params that differ</h2><p class="muted">${c.identicalParams} identical params not shown</p><table><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr>${rows.join('')}</table>`;
}
