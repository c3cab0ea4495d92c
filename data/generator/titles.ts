import type { Lexicon, Term } from '../../tagging/lexicon';
import type { Rng } from './rng';

/**
 * Composes free-text auction titles the way sellers write them: no fixed order, synonyms, typos,
 * decorations and seller jargon, measurement phrases, sometimes a maker's mark. Records what it put in
 * (type, canonical id, surface) as ground truth for the tagger's evaluation.
 */

export type Lang = 'zh' | 'en';

export interface TitleStyle {
  lang: Lang;
  /** Separate terms with spaces (many Chinese sellers do, many do not). */
  spaced: boolean;
  /** Which part order the seller habitually uses. */
  template: number;
  /** Probability of writing a synonym instead of the canonical form. */
  variantRate: number;
  /** Probability of a typo in a term that has a commonly mistyped character. */
  typoRate: number;
  /** Probability of decorations such as 【】, ★ or !!. */
  decorateRate: number;
}

export interface TruthTerm {
  type: string;
  id: string;
  surface: string;
}

export interface Measurement {
  kind: 'diameter' | 'height' | 'length' | 'weight' | 'size' | 'volume' | 'count';
  value: number;
  /** Second dimension, for sizes (width x height). */
  value2?: number;
  unit: 'cm' | 'mm' | 'g' | 'ml' | 'pcs';
}

export interface MakerMark {
  id: string;
  zh: string;
  en: string;
}

export interface TitleParts {
  era?: Term;
  place?: Term;
  material?: Term;
  crafts: Term[];
  motif?: Term;
  object: Term;
  jargon: Term[];
  measurements: Measurement[];
  maker?: MakerMark;
}

/** Canonical id of a measurement, the form the tagger must normalise to. */
export function measurementId(m: Measurement): string {
  const num = (x: number) => String(Number(x.toFixed(2)));
  if (m.kind === 'size') return `size:${num(m.value)}x${num(m.value2 ?? 0)}${m.unit}`;
  return `${m.kind}:${num(m.value)}${m.unit}`;
}

const ZH_UNIT: Record<Measurement['unit'], string[]> = {
  cm: ['cm', '厘米', 'CM'],
  mm: ['mm', '毫米'],
  g: ['克', 'g', '克重'],
  ml: ['ml', '毫升', 'cc'],
  pcs: ['颗', '粒'],
};

function zhMeasurement(m: Measurement, rng: Rng): string {
  const num = (x: number) => String(Number(x.toFixed(2)));
  const unit = rng.pick(ZH_UNIT[m.unit]);
  switch (m.kind) {
    case 'diameter':
      return `${rng.pick(['直径', '直径', '口径', '径'])}${num(m.value)}${unit}`;
    case 'height':
      return `${rng.pick(['高', '高度', '通高'])}${num(m.value)}${unit}`;
    case 'length':
      return `${rng.pick(['长', '长度'])}${num(m.value)}${unit}`;
    case 'weight':
      return unit === '克重' ? `${num(m.value)}克重` : `${rng.pick(['重', '重约', '净重'])}${num(m.value)}${unit}`;
    case 'size':
      return `${rng.pick(['尺寸', '画心', '尺寸约'])}${num(m.value)}x${num(m.value2 ?? 0)}${unit}`;
    case 'volume':
      return `${rng.pick(['容量', '容量约', '容'])}${num(m.value)}${unit}`;
    case 'count':
      return `${num(m.value)}${unit}`;
  }
}

function enMeasurement(m: Measurement, rng: Rng): string {
  const num = (x: number) => String(Number(x.toFixed(2)));
  const sp = rng.bool(0.5) ? ' ' : '';
  switch (m.kind) {
    case 'diameter':
      return `${rng.pick(['Dia.', 'Diameter', 'D'])} ${num(m.value)}${sp}${m.unit}`;
    case 'height':
      return `${rng.pick(['H', 'Height', 'H.'])} ${num(m.value)}${sp}${m.unit}`;
    case 'length':
      return `${rng.pick(['L', 'Length', 'L.'])} ${num(m.value)}${sp}${m.unit}`;
    case 'weight':
      return `${rng.pick(['Weight', 'Wt.', ''])} ${num(m.value)}${sp}g`.trim();
    case 'size':
      return `${rng.pick(['Size', ''])} ${num(m.value)}x${num(m.value2 ?? 0)}${sp}${m.unit}`.trim();
    case 'volume':
      return `${rng.pick(['Capacity', 'Vol.'])} ${num(m.value)}${sp}ml`;
    case 'count':
      return `${num(m.value)} beads`;
  }
}

/** A synonym now and then, and a typo now and then. */
function zhSurface(term: Term, style: TitleStyle, lex: Lexicon, rng: Rng): string {
  let s = term.zhVariants.length > 0 && rng.bool(style.variantRate) ? rng.pick(term.zhVariants) : term.zh;
  if (rng.bool(style.typoRate)) {
    const positions = [...s].map((ch, i) => (lex.typos.has(ch) ? i : -1)).filter((i) => i >= 0);
    if (positions.length > 0) {
      const chars = [...s];
      const at = rng.pick(positions);
      const options = lex.typos.get(chars[at] as string) ?? [];
      if (options.length > 0) {
        chars[at] = rng.pick(options);
        s = chars.join('');
      }
    }
  }
  return s;
}

function enSurface(term: Term, style: TitleStyle, rng: Rng): string {
  const s = term.enVariants.length > 0 && rng.bool(style.variantRate) ? rng.pick(term.enVariants) : term.en;
  // Sellers capitalise inconsistently.
  return rng.bool(0.6) ? s.replace(/\b([a-z])/g, (c) => c.toUpperCase()) : s;
}

const ZH_MAKER_SUFFIX = ['制', '作', '款', '手作', '监制'];
const ZH_DECOR_OPEN = ['【', '[', '★', '「'];
const ZH_DECOR_CLOSE: Record<string, string> = { '【': '】', '[': ']', '★': '★', '「': '」' };

/** Part orders; each seller habitually uses one. */
const TEMPLATES: (keyof TitleParts | 'jargonLead')[][] = [
  ['jargonLead', 'era', 'place', 'material', 'crafts', 'motif', 'object', 'measurements', 'maker', 'jargon'],
  ['era', 'material', 'motif', 'crafts', 'object', 'jargon', 'measurements', 'maker'],
  ['material', 'object', 'motif', 'era', 'jargonLead', 'measurements', 'maker', 'place', 'crafts', 'jargon'],
  ['maker', 'era', 'material', 'crafts', 'object', 'measurements', 'jargon'],
];

export const TEMPLATE_COUNT = TEMPLATES.length;

export function composeTitle(parts: TitleParts, style: TitleStyle, lex: Lexicon, rng: Rng): { title: string; truth: TruthTerm[] } {
  const pieces: string[] = [];
  const truth: TruthTerm[] = [];
  const lead = parts.jargon.slice(0, 1);
  const tail = parts.jargon.slice(1);
  const addTerm = (term: Term | undefined, decorate = false) => {
    if (!term) return;
    let surface = style.lang === 'zh' ? zhSurface(term, style, lex, rng) : enSurface(term, style, rng);
    truth.push({ type: term.type, id: term.id, surface });
    if (decorate && style.lang === 'zh' && rng.bool(style.decorateRate)) {
      const open = rng.pick(ZH_DECOR_OPEN);
      surface = `${open}${surface}${ZH_DECOR_CLOSE[open] ?? ''}`;
    }
    pieces.push(surface);
  };

  for (const slot of TEMPLATES[style.template % TEMPLATES.length] ?? []) {
    switch (slot) {
      case 'jargonLead':
        lead.forEach((t) => addTerm(t, true));
        break;
      case 'jargon':
        tail.forEach((t) => addTerm(t, true));
        break;
      case 'crafts':
        parts.crafts.forEach((t) => addTerm(t));
        break;
      case 'measurements':
        for (const m of parts.measurements) {
          const surface = style.lang === 'zh' ? zhMeasurement(m, rng) : enMeasurement(m, rng);
          truth.push({ type: 'measurement', id: measurementId(m), surface });
          pieces.push(surface);
        }
        break;
      case 'maker':
        if (parts.maker) {
          const surface = style.lang === 'zh' ? `${parts.maker.zh}${rng.pick(ZH_MAKER_SUFFIX)}` : `by ${parts.maker.en}`;
          // A maker the dictionary does not know can only be identified by the name as written.
          const id = parts.maker.id.startsWith('maker.new.')
            ? `maker.new.${style.lang === 'zh' ? parts.maker.zh : parts.maker.en.toLowerCase().replace(' ', '_')}`
            : parts.maker.id;
          truth.push({ type: 'maker', id, surface });
          pieces.push(surface);
        }
        break;
      case 'era':
      case 'place':
      case 'material':
      case 'motif':
      case 'object':
        addTerm(parts[slot]);
        break;
    }
  }
  // Templates without a jargon slot still carry the seller's jargon: append it.
  const order = TEMPLATES[style.template % TEMPLATES.length] ?? [];
  if (!order.includes('jargonLead')) lead.forEach((t) => addTerm(t, true));
  if (!order.includes('jargon')) tail.forEach((t) => addTerm(t, true));

  let title: string;
  if (style.lang === 'zh') {
    title = style.spaced ? pieces.join(' ') : pieces.map((p, i) => (i > 0 && /^[0-9A-Za-z]/.test(p) ? ` ${p}` : p)).join('');
    if (rng.bool(style.decorateRate / 2)) title += rng.pick(['!!', '！', '~', '!!!']);
  } else {
    title = pieces.join(rng.bool(0.7) ? ' ' : ', ');
  }
  return { title, truth };
}
