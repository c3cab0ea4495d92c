import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict';
import type { Lexicon } from './lexicon';
import { normalizeTitle } from './entityRecognizer';
import { analyzeLatin } from './latinAnalyzer';

/**
 * Tokenisation of titles and queries, split by script: Han runs go to jieba (with the lexicon loaded
 * as a custom dictionary, so domain terms like 手把件 or 和田玉 stay whole), everything else to
 * wink-nlp (tagging/latinAnalyzer.ts: lemmas, stop words). Used by the tagger and, through
 * `tokenize`, by the keyword model, so titles and queries are cut the same way.
 */

export interface TokenizerOptions {
  /** Keep Latin stop words ("the", "of", "away") in `tokenize`; default false. */
  keepStopWords?: boolean;
}

export interface TitleToken {
  text: string;
  script: 'han' | 'latin';
  kind: 'word' | 'number';
  stop: boolean;
}

const HAN_RUN = /\p{Script=Han}+/gu;
const HAN_CHAR = /\p{Script=Han}/u;
const HAS_LETTER = /\p{L}/u;
const ONLY_SEPARATORS = /^[\s\p{P}\p{S}]*$/u;

export class Tokenizer {
  private readonly jieba: Jieba;
  private readonly keepStopWords: boolean;

  constructor(lex: Lexicon, options: TokenizerOptions = {}) {
    this.jieba = Jieba.withDict(dict);
    this.keepStopWords = options.keepStopWords ?? false;
    const lines: string[] = [];
    // High frequencies make jieba prefer the domain word over splitting it.
    for (const surface of lex.zhSurface.keys()) if ([...surface].length >= 2) lines.push(`${surface} 100000 n`);
    this.jieba.loadDict(Buffer.from(lines.join('\n') + '\n'));
  }

  /** Tokens of a title or query: lower-cased lemmas, without spaces, punctuation, bare numbers or (by default) stop words. */
  tokenize(text: string): string[] {
    const out: string[] = [];
    for (const run of this.phraseRuns(text, { breakAtStopWords: false })) {
      for (const t of run) if (t.kind === 'word' && (this.keepStopWords || !t.stop)) out.push(t.text);
    }
    return out;
  }

  /**
   * Runs of content tokens a phrase may be mined from: a run ends at punctuation, at a number, at a
   * Latin stop word ("Eau de Toilette Spray for Women" → [eau] [toilette spray] [woman]) and where
   * the script changes. Spaces between Han words do not end a run: Chinese sellers separate words
   * with spaces that are not phrase boundaries (清代 和田玉 籽料).
   */
  phrases(text: string): string[][] {
    return this.phraseRuns(text, { breakAtStopWords: true }).map((run) => run.map((t) => t.text));
  }

  /** Every token of a text, in order, with breaks between phrase runs. */
  private phraseRuns(text: string, opts: { breakAtStopWords: boolean }): TitleToken[][] {
    const norm = normalizeTitle(text);
    const runs: TitleToken[][] = [];
    let current: TitleToken[] = [];
    const cut = () => {
      if (current.length > 0) runs.push(current);
      current = [];
    };
    const push = (t: TitleToken) => {
      const last = current[current.length - 1];
      if (last && last.script !== t.script) cut();
      current.push(t);
    };
    const latin = (segment: string) => {
      if (ONLY_SEPARATORS.test(segment)) {
        if (/[\p{P}\p{S}]/u.test(segment)) cut();
        return;
      }
      if (!HAS_LETTER.test(segment)) {
        // Digits and punctuation only: no words, but a boundary.
        cut();
        return;
      }
      for (const t of analyzeLatin(segment)) {
        if (t.kind !== 'word') {
          cut();
          continue;
        }
        if (t.stop && opts.breakAtStopWords) {
          cut();
          continue;
        }
        push({ text: t.text, script: 'latin', kind: 'word', stop: t.stop });
      }
    };
    let at = 0;
    for (const m of norm.matchAll(HAN_RUN)) {
      const start = m.index ?? 0;
      if (start > at) latin(norm.slice(at, start));
      for (const tok of this.jieba.cut(m[0], true)) {
        const t = tok.trim();
        if (!t) continue;
        if (!HAN_CHAR.test(t) && !HAS_LETTER.test(t)) {
          cut();
          continue;
        }
        push({ text: t, script: 'han', kind: 'word', stop: false });
      }
      at = start + m[0].length;
    }
    if (at < norm.length) latin(norm.slice(at));
    cut();
    return runs;
  }
}
