/**
 * Minimal inline-SVG charts for the comparison report. Self-contained on purpose: the report is
 * one HTML file that opens from the MLflow UI's artifact viewer, where no script or CDN can load.
 */

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** Round tick values covering [min, max] (the "nice numbers" of Heckbert). */
export function niceTicks(min: number, max: number, count = 5, integer = false): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min === max) {
    const pad = Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  if (integer) step = Math.max(1, Math.ceil(step)); // steps and epochs have no halves
  const ticks: number[] = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}

/** A difference with its sign: "+0.01", "-0.1", "0". */
export function signed(d: number): string {
  return d > 0 ? `+${formatNumber(d)}` : formatNumber(d);
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const FRAME: Frame = { width: 460, height: 260, left: 56, right: 12, top: 28, bottom: 40 };

function open(title: string, f: Frame, extraHeight = 0): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height + extraHeight}" viewBox="0 0 ${f.width} ${f.height + extraHeight}" role="img" aria-label="${escapeXml(title)}" font-family="system-ui, sans-serif" font-size="11">` +
    `<title>${escapeXml(title)}</title><text x="${f.width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="600">${escapeXml(title)}</text>`
  );
}

function legend(names: string[], f: Frame, y: number): string {
  let x = f.left;
  return names
    .map((n, i) => {
      const label = n.length > 28 ? `${n.slice(0, 27)}…` : n;
      const s = `<rect x="${x}" y="${y - 9}" width="10" height="10" fill="${PALETTE[i % PALETTE.length]}"/><text x="${x + 14}" y="${y}">${escapeXml(label)}</text>`;
      x += 24 + label.length * 6;
      return s;
    })
    .join('');
}

function yAxis(ticks: number[], scale: (v: number) => number, f: Frame, label: string): string {
  const lines = ticks
    .map((t) => {
      const y = scale(t).toFixed(1);
      return `<line x1="${f.left}" x2="${f.width - f.right}" y1="${y}" y2="${y}" stroke="#e5e5e5"/><text x="${f.left - 4}" y="${y}" text-anchor="end" dominant-baseline="middle">${formatNumber(t)}</text>`;
    })
    .join('');
  const mid = (f.top + f.height - f.bottom) / 2;
  return `${lines}<text transform="translate(12 ${mid}) rotate(-90)" text-anchor="middle">${escapeXml(label)}</text>`;
}

export interface LineSeries {
  name: string;
  points: { x: number; y: number }[];
}

/** One line per series (e.g. the loss per epoch of one model in each compared run). */
export function lineChart(opts: { title: string; series: LineSeries[]; xLabel?: string; yLabel?: string }): string {
  const f = FRAME;
  const pts = opts.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (!pts.length) return '';
  const xs = pts.map((p) => p.x);
  const ys = pts.map((p) => p.y);
  const xt = niceTicks(Math.min(...xs), Math.max(...xs), 5, xs.every(Number.isInteger));
  const yt = niceTicks(Math.min(...ys), Math.max(...ys));
  const [x0, x1, y0, y1] = [xt[0]!, xt[xt.length - 1]!, yt[0]!, yt[yt.length - 1]!];
  const sx = (v: number) => f.left + ((v - x0) / (x1 - x0 || 1)) * (f.width - f.left - f.right);
  const sy = (v: number) => f.height - f.bottom - ((v - y0) / (y1 - y0 || 1)) * (f.height - f.top - f.bottom);
  let out = open(opts.title, f, 18) + yAxis(yt, sy, f, opts.yLabel ?? '');
  out += xt.map((t) => `<text x="${sx(t).toFixed(1)}" y="${f.height - f.bottom + 14}" text-anchor="middle">${formatNumber(t)}</text>`).join('');
  out += `<text x="${(f.left + f.width - f.right) / 2}" y="${f.height - 8}" text-anchor="middle">${escapeXml(opts.xLabel ?? 'step')}</text>`;
  opts.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const good = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    if (!good.length) return;
    const d = good.map((p, j) => `${j ? 'L' : 'M'}${sx(p.x).toFixed(1)} ${sy(p.y).toFixed(1)}`).join(' ');
    out += `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"><title>${escapeXml(s.name)}</title></path>`;
    out += good.map((p) => `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="2.5" fill="${color}"><title>${escapeXml(`${s.name} step ${p.x}: ${formatNumber(p.y)}`)}</title></circle>`).join('');
  });
  return `${out}${legend(opts.series.map((s) => s.name), f, f.height + 12)}</svg>`;
}

/** Grouped bars: one group per category (e.g. model), one bar per series (e.g. run). */
export function barChart(opts: { title: string; groups: string[]; series: { name: string; values: (number | undefined)[] }[]; yLabel?: string }): string {
  // Wide enough that every group's label fits under it.
  const longest = Math.min(18, Math.max(...opts.groups.map((g) => g.length)));
  const groupWidth = Math.max(longest * 6.5 + 10, opts.series.length * 14 + 10);
  const f = { ...FRAME, bottom: 56, width: Math.max(FRAME.width, FRAME.left + FRAME.right + opts.groups.length * groupWidth) };
  const vals = opts.series.flatMap((s) => s.values).filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (!vals.length) return '';
  const yt = niceTicks(Math.min(0, ...vals), Math.max(0, ...vals));
  const [y0, y1] = [yt[0]!, yt[yt.length - 1]!];
  const sy = (v: number) => f.height - f.bottom - ((v - y0) / (y1 - y0 || 1)) * (f.height - f.top - f.bottom);
  const plotW = f.width - f.left - f.right;
  const gw = plotW / Math.max(1, opts.groups.length);
  const bw = Math.min(28, (gw * 0.8) / Math.max(1, opts.series.length));
  let out = open(opts.title, f, 18) + yAxis(yt, sy, f, opts.yLabel ?? '');
  opts.groups.forEach((g, gi) => {
    const gx = f.left + gi * gw + (gw - bw * opts.series.length) / 2;
    opts.series.forEach((s, si) => {
      const v = s.values[gi];
      if (v === undefined || !Number.isFinite(v)) return;
      const y = sy(Math.max(v, 0));
      const h = Math.abs(sy(v) - sy(0));
      out += `<rect x="${(gx + si * bw).toFixed(1)}" y="${y.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${Math.max(h, 0.5).toFixed(1)}" fill="${PALETTE[si % PALETTE.length]}"><title>${escapeXml(`${s.name} · ${g}: ${formatNumber(v)}`)}</title></rect>`;
    });
    const label = g.length > 18 ? `${g.slice(0, 17)}…` : g;
    out += `<text x="${(f.left + gi * gw + gw / 2).toFixed(1)}" y="${f.height - f.bottom + 14}" text-anchor="middle">${escapeXml(label)}</text>`;
  });
  return `${out}${legend(opts.series.map((s) => s.name), f, f.height - 12)}</svg>`;
}

export interface IntervalRow {
  label: string;
  value: number;
  low: number;
  high: number;
}

/** A point with its interval per row (e.g. CTR lift and its confidence interval per run). */
export function intervalChart(opts: { title: string; rows: IntervalRow[]; xLabel?: string; reference?: number }): string {
  const rows = opts.rows.filter((r) => [r.value, r.low, r.high].every(Number.isFinite));
  if (!rows.length) return '';
  const rowH = 30;
  const f = { ...FRAME, left: 150, height: FRAME.top + rows.length * rowH + 44 };
  const ref = opts.reference;
  const all = rows.flatMap((r) => [r.low, r.high, r.value]).concat(ref !== undefined ? [ref] : []);
  const xt = niceTicks(Math.min(...all), Math.max(...all));
  const [x0, x1] = [xt[0]!, xt[xt.length - 1]!];
  const sx = (v: number) => f.left + ((v - x0) / (x1 - x0 || 1)) * (f.width - f.left - f.right);
  const bottom = f.top + rows.length * rowH + 6;
  let out = open(opts.title, f);
  out += xt
    .map((t) => `<line x1="${sx(t).toFixed(1)}" x2="${sx(t).toFixed(1)}" y1="${f.top}" y2="${bottom}" stroke="#e5e5e5"/><text x="${sx(t).toFixed(1)}" y="${bottom + 14}" text-anchor="middle">${formatNumber(t)}</text>`)
    .join('');
  if (ref !== undefined) out += `<line x1="${sx(ref).toFixed(1)}" x2="${sx(ref).toFixed(1)}" y1="${f.top}" y2="${bottom}" stroke="#777" stroke-dasharray="4 3"/>`;
  rows.forEach((r, i) => {
    const y = f.top + i * rowH + rowH / 2;
    const color = PALETTE[i % PALETTE.length];
    const label = r.label.length > 24 ? `${r.label.slice(0, 23)}…` : r.label;
    out += `<text x="${f.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(label)}</text>`;
    out += `<g stroke="${color}" stroke-width="2"><line x1="${sx(r.low).toFixed(1)}" x2="${sx(r.high).toFixed(1)}" y1="${y}" y2="${y}"/><line x1="${sx(r.low).toFixed(1)}" x2="${sx(r.low).toFixed(1)}" y1="${y - 6}" y2="${y + 6}"/><line x1="${sx(r.high).toFixed(1)}" x2="${sx(r.high).toFixed(1)}" y1="${y - 6}" y2="${y + 6}"/></g>`;
    out += `<circle cx="${sx(r.value).toFixed(1)}" cy="${y}" r="4.5" fill="${color}"><title>${escapeXml(`${r.label}: ${formatNumber(r.value)} [${formatNumber(r.low)}, ${formatNumber(r.high)}]`)}</title></circle>`;
  });
  out += `<text x="${(f.left + f.width - f.right) / 2}" y="${bottom + 30}" text-anchor="middle">${escapeXml(opts.xLabel ?? '')}</text>`;
  return `${out}</svg>`;
}
