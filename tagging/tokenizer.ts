import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict';
import type { Lexicon } from './lexicon';
import { normalizeTitle } from './entityRecognizer';

/**
 * Tokenisation of titles and queries: jieba (with the lexicon loaded as a custom dictionary, so
 * domain terms like 手把件 or 和田玉 stay whole) for Chinese, word splitting for Latin text.
 */
export class Tokenizer {
  private readonly jieba: Jieba;

  constructor(lex: Lexicon) {
    this.jieba = Jieba.withDict(dict);
    const lines: string[] = [];
    // High frequencies make jieba prefer the domain word over splitting it.
    for (const surface of lex.zhSurface.keys()) if ([...surface].length >= 2) lines.push(`${surface} 100000 n`);
    this.jieba.loadDict(Buffer.from(lines.join('\n') + '\n'));
  }

  /** Tokens of a title or query: lower-cased, without spaces, punctuation or bare numbers. */
  tokenize(text: string): string[] {
    const norm = normalizeTitle(text);
    const out: string[] = [];
    for (const tok of this.jieba.cut(norm, true)) {
      const t = tok.trim();
      if (!t) continue;
      if (/^[\p{P}\p{S}]+$/u.test(t)) continue;
      if (/^[\d.]+$/.test(t)) continue;
      out.push(t);
    }
    return out;
  }
}
