/**
 * Rule-based recognition of measurement phrases (直径3.5cm, 重28克, 容量300毫升, 108颗, Dia. 3.5 cm,
 * 28g, Size 68x136cm), normalised to a canonical id such as "diameter:3.5cm" or "weight:28g".
 */

export interface MeasurementMatch {
  id: string;
  kind: string;
  start: number;
  end: number;
  surface: string;
}

const UNIT: Record<string, string> = {
  cm: 'cm', 厘米: 'cm', 公分: 'cm',
  mm: 'mm', 毫米: 'mm',
  g: 'g', 克: 'g', 克重: 'g',
  ml: 'ml', 毫升: 'ml', cc: 'ml',
  颗: 'pcs', 粒: 'pcs', beads: 'pcs',
};

const ZH_KIND: [RegExp, string][] = [
  [/^(直径|口径|径)$/, 'diameter'],
  [/^(高|高度|通高)$/, 'height'],
  [/^(长|长度)$/, 'length'],
  [/^(重|重约|净重)$/, 'weight'],
  [/^(尺寸|尺寸约|画心)$/, 'size'],
  [/^(容量|容量约|容)$/, 'volume'],
];

const EN_KIND: [RegExp, string][] = [
  [/^(dia\.?|diameter|d)$/, 'diameter'],
  [/^(h\.?|height)$/, 'height'],
  [/^(l\.?|length)$/, 'length'],
  [/^(weight|wt\.?)$/, 'weight'],
  [/^(size)$/, 'size'],
  [/^(capacity|vol\.?)$/, 'volume'],
];

const NUM = String.raw`(\d+(?:\.\d+)?)`;
const UNITS = String.raw`(cm|mm|ml|cc|g|厘米|公分|毫米|毫升|克重|克|颗|粒|beads)`;
// Optional label, a number (or WxH), optional space, a unit. Labels are matched loosely and checked after.
const PATTERN = new RegExp(
  String.raw`(?<![a-z])(直径|口径|径|高度|通高|高|长度|长|重约|净重|重|尺寸约|尺寸|画心|容量约|容量|容|dia\.?|diameter|height|h\.?|length|l\.?|weight|wt\.?|size|capacity|vol\.?|d)?\s*[:：]?\s*` +
    String.raw`(?<![\d.])` + NUM + String.raw`(?:\s*[x×*]\s*` + NUM + String.raw`)?\s*` + UNITS + String.raw`(?![a-z])`,
  'gi',
);

function kindFor(label: string | undefined, unit: string, hasSecond: boolean): string | undefined {
  if (hasSecond) return 'size';
  if (label) {
    const l = label.toLowerCase();
    for (const [re, kind] of [...ZH_KIND, ...EN_KIND]) if (re.test(l)) return kind;
  }
  // No label: the unit alone decides what was measured.
  switch (unit) {
    case 'g':
      return 'weight';
    case 'ml':
      return 'volume';
    case 'pcs':
      return 'count';
    default:
      return undefined;
  }
}

const num = (s: string) => String(Number(Number(s).toFixed(2)));

/** Finds measurement phrases in (NFKC-normalised) text. */
export function findMeasurements(text: string): MeasurementMatch[] {
  const out: MeasurementMatch[] = [];
  for (const m of text.matchAll(PATTERN)) {
    const [surface, label, a, b, rawUnit] = m;
    if (a === undefined || rawUnit === undefined) continue;
    const unit = UNIT[rawUnit.toLowerCase()] ?? UNIT[rawUnit];
    if (!unit) continue;
    const kind = kindFor(label, unit, b !== undefined);
    if (!kind) continue;
    const id = kind === 'size' ? `size:${num(a)}x${num(b ?? '0')}${unit}` : `${kind}:${num(a)}${unit}`;
    const start = m.index ?? 0;
    // A label-less number glued to the previous word ("口径" missing) is still a measurement; keep the span tight.
    out.push({ id, kind, start, end: start + surface.length, surface: surface.trim() });
  }
  return out;
}
