import { eng as englishStopWords } from 'stopword';
import winkNLP, { type ItemToken, type ItsFunction, type WinkMethods } from 'wink-nlp';
import model from 'wink-eng-lite-web-model';

/**
 * Words of Latin-script text (English titles, and the Latin parts of mixed ones) through wink-nlp
 * with its English lite model: lemmas, stop words, numbers and punctuation. jieba is for Chinese
 * only — it cuts Latin text into pieces (`wa`, `forlove`) that are neither words nor tags.
 */

export interface LatinToken {
  /** The word's tag form: the lemma where it can be trusted, else the lower-cased word. */
  text: string;
  kind: 'word' | 'number' | 'break';
  /** A function word: a stop word of either list, or of a closed word class. */
  stop: boolean;
}

/**
 * Closed word classes, which never name a thing: determiners, pronouns, prepositions, auxiliaries,
 * conjunctions and particles. Adverbs and interjections are an open class and wink mis-tags short
 * lower-cased titles as them ("Monster High", "Hello Kitty", "Deep Conditioner"), so they are not
 * dropped by part of speech; the few function adverbs the stop lists miss are listed below.
 */
const FUNCTION_POS = new Set(['ADP', 'AUX', 'CCONJ', 'DET', 'PART', 'PRON', 'SCONJ']);
const FUNCTION_ADVERBS = ['away', 'maybe', 'soon', 'instead'];

/**
 * Articles and prepositions of other Latin-script languages that titles quote ("Belle de Jour",
 * "La Cité des enfants perdus"); only words that are not also English words ("die", "son" stay).
 */
const FOREIGN_FUNCTION_WORDS = ['de', 'des', 'du', 'la', 'le', 'les', 'el', 'los', 'las', 'del', 'der', 'und', 'di', 'il'];

const STOP_WORDS: ReadonlySet<string> = new Set([...englishStopWords.map((w) => w.toLowerCase()), ...FUNCTION_ADVERBS, ...FOREIGN_FUNCTION_WORDS]);

/** English stop words (the `stopword` list, a few function adverbs and foreign articles), lower-case. */
export function isLatinStopWord(word: string): boolean {
  return STOP_WORDS.has(word);
}

let nlp: WinkMethods | undefined;
/** One wink instance per process: loading the model costs far more than reading a title. */
function winkInstance(): WinkMethods {
  // Only the part-of-speech stage runs: the lemmatiser needs it; sentences, entities and sentiment are not used.
  nlp ??= winkNLP(model, ['pos']);
  return nlp;
}

/**
 * The lemma wink gives a lower-cased word, or the word itself where the lemma is a guess.
 * Title-cased input is tagged as proper nouns and never lemmatised ("Dragon Pendants" stays
 * "pendants"), so callers pass lower-cased text; lower-cased short titles are in turn often
 * mis-tagged as verbs, and an irregular verb reading ("rose" → "rise", "saw" → "see", "left" →
 * "leave") is more often wrong than right on a title. Noun lemmas are kept ("pendants" → "pendant",
 * "men" → "man"); other lemmas only when they are a regular inflection of the word (same first
 * three letters: "carved" → "carve", "painted" → "paint").
 */
function trustedLemma(word: string, lemma: string, pos: string): string {
  if (!lemma || lemma === word) return word;
  if (pos === 'NOUN' || pos === 'PROPN') return lemma;
  const stem = lemma.slice(0, 3);
  return stem.length > 0 && word.startsWith(stem) ? lemma : word;
}

const LETTER = /\p{L}/u;
/** II to XX: numbering ("Star Trek II", "Louis XIV"); the one-letter I, V and X are left to the stop words. */
const ROMAN_NUMERAL = /^(?=[ivx]{2,})x{0,3}(ix|iv|v?i{0,3})$/;

/** Tokens of a Latin-script text; `text` should be lower-cased (see trustedLemma). */
export function analyzeLatin(text: string): LatinToken[] {
  const nlpInstance = winkInstance();
  const its = nlpInstance.its;
  // wink-nlp 2.4's declaration of its.lemma does not match its own ItsFunction type; the function is right.
  const lemmaOf = its.lemma as unknown as ItsFunction<string>;
  const doc = nlpInstance.readDoc(text);
  const out: LatinToken[] = [];
  doc.tokens().each((t: ItemToken) => {
    const value = String(t.out(its.value)).toLowerCase();
    const type = String(t.out(its.type));
    if (type === 'number' || type === 'ordinal' || (type !== 'word' && /^[\p{N}.,]+$/u.test(value))) {
      out.push({ text: value, kind: 'number', stop: false });
      return;
    }
    if (type !== 'word' && type !== 'unk' && type !== 'hashtag') {
      // Punctuation, symbols, emoji, URLs: nothing to tag, and a phrase does not run across them.
      out.push({ text: value, kind: 'break', stop: false });
      return;
    }
    // Possessive and contraction endings ("'s", "n't") and stray apostrophes are pieces, not words.
    const word = value.replace(/^['’]+|['’.]+$/g, '');
    if (!LETTER.test(word) || word.startsWith("'") || word.startsWith('’')) {
      out.push({ text: word, kind: 'break', stop: true });
      return;
    }
    const pos = String(t.out(its.pos));
    if ((pos === 'NUM' && !/\d/.test(word)) || ROMAN_NUMERAL.test(word)) {
      // Spelled-out numbers ("twelve", "one") and sequel numerals ("Part II") are numbers, not tags.
      out.push({ text: word, kind: 'number', stop: false });
      return;
    }
    const lemma = trustedLemma(word, String(t.out(lemmaOf)).toLowerCase().replace(/['’.]+$/g, ''), pos);
    const stop = STOP_WORDS.has(word) || STOP_WORDS.has(lemma) || t.out(its.stopWordFlag) === true || FUNCTION_POS.has(pos);
    out.push({ text: lemma, kind: 'word', stop });
  });
  return out;
}
