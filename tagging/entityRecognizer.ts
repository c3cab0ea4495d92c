import type { EntityType, Lexicon, Term } from './lexicon';
import { findMeasurements } from './measurements';

/**
 * Dictionary-and-rule named-entity recognition over item titles:
 * - dictionary: longest match of the lexicon's surface forms (canonical, synonyms, and the typo
 *   variants the lexicon's confusion table predicts) over the normalised title;
 * - rules: measurement phrases (tagging/measurements.ts) and makers' marks — a known maker, or an
 *   unknown name of a common surname plus one or two characters followed by 制/作/款/手作/监制
 *   (English: "by Firstname Lastname").
 */

export interface Entity {
  type: EntityType;
  /** Canonical id: a lexicon id, "maker.new.<name>" for an unknown maker, or a measurement id. */
  id: string;
  surface: string;
  start: number;
  end: number;
}

const HAN = /[\u3400-\u9fff]/;

/** Common Chinese surnames: an unknown maker's name must start with one. */
const SURNAMES = new Set(
  [...'王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒲'],
);
const MAKER_SUFFIX = /^(监制|手作|制|作|款)/;

const HTML_ENTITIES: Record<string, string> = { amp: '&', quot: '"', apos: "'", lt: '<', gt: '>', nbsp: ' ', reg: '®', trade: '™', copy: '©' };
/** Trade marks say nothing about an item, and NFKC would glue ™ to its word as "TM" ("Crayola™" → "crayolatm"). */
const MARKS = /[™®©℠]/g;
const HTML_REFERENCE = /&(?:#(\d{1,6})|#x([0-9a-f]{1,6})|([a-z]+));/gi;

function decodeHtmlReferences(text: string): string {
  return text.replace(HTML_REFERENCE, (whole, dec: string | undefined, hex: string | undefined, name: string | undefined) => {
    const code = dec !== undefined ? Number(dec) : hex !== undefined ? parseInt(hex, 16) : undefined;
    if (code !== undefined) return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    return HTML_ENTITIES[(name ?? '').toLowerCase()] ?? whole;
  });
}

/**
 * Normalises a title for matching: HTML character references decoded (marketplace exports carry
 * "See &amp; Do", "18&quot; Doll"), full-width to ASCII (NFKC), lower-case Latin.
 */
export function normalizeTitle(title: string): string {
  // Twice: exports escape some titles twice ("ALEX&amp;reg;").
  const decoded = title.includes('&') ? decodeHtmlReferences(decodeHtmlReferences(title)) : title;
  return decoded.replace(MARKS, ' ').normalize('NFKC').toLowerCase();
}

interface TrieNode {
  next: Map<string, TrieNode>;
  term?: Term;
}

export class EntityRecognizer {
  private readonly root: TrieNode = { next: new Map() };
  private readonly en: Map<string, Term>;
  private readonly maxEnWords: number;

  constructor(private readonly lex: Lexicon) {
    for (const [surface, term] of lex.zhSurface) {
      this.insert(surface, term);
      for (const variant of typoVariants(surface, lex.typos)) if (!lex.zhSurface.has(variant)) this.insert(variant, term, false);
    }
    this.en = lex.enSurface;
    this.maxEnWords = Math.max(1, ...[...lex.enSurface.keys()].map((k) => k.split(/\s+/).length));
  }

  private insert(surface: string, term: Term, overwrite = true): void {
    let node = this.root;
    for (const ch of surface) {
      let n = node.next.get(ch);
      if (!n) {
        n = { next: new Map() };
        node.next.set(ch, n);
      }
      node = n;
    }
    if (overwrite || !node.term) node.term = term;
  }

  recognize(title: string): Entity[] {
    const text = normalizeTitle(title);
    const entities: Entity[] = [];
    const taken = new Uint8Array(text.length);
    const claim = (e: Entity) => {
      for (let i = e.start; i < e.end; i++) taken[i] = 1;
      entities.push(e);
    };

    for (const m of findMeasurements(text)) claim({ type: 'measurement', id: m.id, surface: m.surface, start: m.start, end: m.end });
    this.makers(text, taken, claim);
    this.dictionaryZh(text, taken, claim);
    this.dictionaryEn(text, taken, claim);
    return entities.sort((a, b) => a.start - b.start);
  }

  private makers(text: string, taken: Uint8Array, claim: (e: Entity) => void): void {
    for (let i = 0; i < text.length; i++) {
      if (taken[i] || !SURNAMES.has(text[i] as string)) continue;
      // Known maker: the dictionary has the full name.
      const known = this.longest(text, i);
      if (known && known.term.type === 'maker') {
        const after = MAKER_SUFFIX.exec(text.slice(known.end));
        claim({ type: 'maker', id: known.term.id, surface: text.slice(i, known.end + (after?.[0].length ?? 0)), start: i, end: known.end + (after?.[0].length ?? 0) });
        i = known.end - 1;
        continue;
      }
      // Unknown maker: surname + 1–2 Han characters + a maker's suffix, starting a word.
      if (i > 0 && HAN.test(text[i - 1] as string) && !taken[i - 1]) continue;
      for (const len of [3, 2]) {
        const name = text.slice(i, i + len);
        if ([...name].length !== len || ![...name].every((c) => HAN.test(c))) continue;
        const suffix = MAKER_SUFFIX.exec(text.slice(i + len));
        if (!suffix) continue;
        if ([...name].some((_, k) => taken[i + k])) continue;
        if (this.lex.zhSurface.has(name.slice(1)) || this.lex.zhSurface.has(name)) continue; // "精品制作", "雕花作" are not names
        claim({ type: 'maker', id: `maker.new.${name}`, surface: name + suffix[0], start: i, end: i + len + suffix[0].length });
        i += len + suffix[0].length - 1;
        break;
      }
    }
    for (const m of text.matchAll(/\bby ([a-z]+ [a-z]+)\b/g)) {
      const start = m.index ?? 0;
      const name = m[1] as string;
      const known = this.en.get(name);
      const id = known?.type === 'maker' ? known.id : `maker.new.${name.replace(' ', '_')}`;
      claim({ type: 'maker', id, surface: m[0], start, end: start + m[0].length });
    }
  }

  private longest(text: string, i: number): { term: Term; end: number } | undefined {
    let node: TrieNode | undefined = this.root;
    let best: { term: Term; end: number } | undefined;
    for (let j = i; j < text.length && node; j++) {
      node = node.next.get(text[j] as string);
      if (node?.term) best = { term: node.term, end: j + 1 };
    }
    return best;
  }

  private dictionaryZh(text: string, taken: Uint8Array, claim: (e: Entity) => void): void {
    for (let i = 0; i < text.length; i++) {
      if (taken[i] || !HAN.test(text[i] as string)) continue;
      const hit = this.longest(text, i);
      if (!hit || hit.term.type === 'maker') continue;
      let clash = false;
      for (let k = i; k < hit.end; k++) if (taken[k]) clash = true;
      if (clash) continue;
      // A one-character form (清, 明, 宋 ...) counts only as a word of its own, not inside another word.
      if (hit.end - i === 1 && (isHanAt(text, i - 1) || isHanAt(text, i + 1))) continue;
      claim({ type: hit.term.type as EntityType, id: hit.term.id, surface: text.slice(i, hit.end), start: i, end: hit.end });
      i = hit.end - 1;
    }
  }

  private dictionaryEn(text: string, taken: Uint8Array, claim: (e: Entity) => void): void {
    const words = [...text.matchAll(/[a-z][a-z'-]*/g)].map((m) => ({ w: m[0], start: m.index ?? 0, end: (m.index ?? 0) + m[0].length }));
    for (let i = 0; i < words.length; i++) {
      const first = words[i] as { w: string; start: number; end: number };
      if (taken[first.start]) continue;
      for (let n = Math.min(this.maxEnWords, words.length - i); n >= 1; n--) {
        const last = words[i + n - 1] as { end: number };
        const phrase = words.slice(i, i + n).map((x) => x.w).join(' ');
        const term = this.en.get(phrase);
        if (!term || term.type === 'maker') continue;
        claim({ type: term.type as EntityType, id: term.id, surface: text.slice(first.start, last.end), start: first.start, end: last.end });
        i += n - 1;
        break;
      }
    }
  }
}

function isHanAt(text: string, i: number): boolean {
  return i >= 0 && i < text.length && HAN.test(text[i] as string);
}

/** Each way of writing a surface form with one commonly mistyped character. */
export function typoVariants(surface: string, typos: Map<string, string[]>): string[] {
  const chars = [...surface];
  const out: string[] = [];
  chars.forEach((c, i) => {
    for (const alt of typos.get(c) ?? []) {
      const v = chars.slice();
      v[i] = alt;
      out.push(v.join(''));
    }
  });
  return out;
}
