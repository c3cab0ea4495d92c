/**
 * Rule-based recognition of measurement phrases (直径3.5cm, 重28克, 容量300毫升, 108颗, Dia. 3.5 cm,
 * 28g, Size 68x136cm, 1.7 oz, 8 x 10 inches), normalised to a canonical metric id such as
 * "diameter:3.5cm" or "weight:28g". Generic rules: they hold on any marketplace, so they stay on
 * when the cultural-artifact lexicon is out of scope.
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
  颗: 'pcs', 粒: 'pcs', beads: 'pcs', pcs: 'pcs', pc: 'pcs', pieces: 'pcs', piece: 'pcs',
};

/**
 * Other units (English listings: "1.7 oz", "3 Ounce", "1 Fluid Ounce", "12 inch", "1 liter") in the
 * metric unit the ids use, so an ounce of cream and 28 g of tea powder land in the same size bucket.
 * A plain "oz" is a weight although perfume sellers mean fluid ounces: the two differ by 4%, less
 * than a bucket.
 */
const CONVERTED: [RegExp, string, number][] = [
  [/^kg$/, 'g', 1000],
  [/^(liters?|litres?)$/, 'ml', 1000],
  [/^(fl\.?\s*oz\.?|fluid\s+ounces?)$/, 'ml', 29.5735],
  [/^(oz\.?|ounces?)$/, 'g', 28.3495],
  [/^(lbs?\.?|pounds?)$/, 'g', 453.592],
  [/^(inch|inches)$/, 'cm', 2.54],
];

function unitOf(raw: string): { unit: string; factor: number } | undefined {
  const u = raw.toLowerCase();
  const metric = UNIT[u] ?? UNIT[raw];
  if (metric) return { unit: metric, factor: 1 };
  for (const [re, unit, factor] of CONVERTED) if (re.test(u)) return { unit, factor };
  return undefined;
}

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
// Longer spellings first: the alternation takes the first unit that fits.
const UNITS = String.raw`(fl\.?\s*oz\.?|fluid\s+ounces?|ounces?|oz\.?|inches|inch|pounds?|lbs?\.?|liters?|litres?|kg|cm|mm|ml|cc|g|pcs|pc|pieces|piece|厘米|公分|毫米|毫升|克重|克|颗|粒|beads)`;
// Optional label, a number (or WxH), optional space or hyphen ("8.5-Ounce"), a unit. Labels are matched loosely and checked after.
const PATTERN = new RegExp(
  // An English label must start a word ("width" holds no "h"); a Chinese one may follow a Latin unit ("长度19.3CM高度7.1厘米").
  String.raw`(直径|口径|径|高度|通高|高|长度|长|重约|净重|重|尺寸约|尺寸|画心|容量约|容量|容|(?<![a-z])(?:dia\.?|diameter|height|h\.?|length|l\.?|weight|wt\.?|size|capacity|vol\.?|d))?\s*[:：]?\s*` +
    String.raw`(?<![\d./])` + NUM + String.raw`(?:\s*[x×*]\s*` + NUM + String.raw`)?(?:\s*|-)` + UNITS + String.raw`(?![a-z])`,
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
    const known = unitOf(rawUnit);
    if (!known) continue;
    const { unit, factor } = known;
    const kind = kindFor(label, unit, b !== undefined);
    if (!kind) continue;
    const scaled = (v: string) => num(String(Number(v) * factor));
    const id = kind === 'size' ? `size:${scaled(a)}x${scaled(b ?? '0')}${unit}` : `${kind}:${scaled(a)}${unit}`;
    const start = m.index ?? 0;
    // A label-less number glued to the previous word ("口径" missing) is still a measurement; keep the span tight.
    out.push({ id, kind, start, end: start + surface.length, surface: surface.trim() });
  }
  return out;
}
