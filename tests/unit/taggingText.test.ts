import { EntityRecognizer, normalizeTitle } from '../../tagging/entityRecognizer';
import { evaluateHeldOut, predictNaiveBayes, trainNaiveBayes } from '../../tagging/categoryClassifier';
import { buildCategorySynonyms, canonicalFormCategory, normalizeCategoryName } from '../../tagging/formCategories';
import { isLatinStopWord } from '../../tagging/latinAnalyzer';
import { loadLexicon } from '../../tagging/lexicon';
import { decideLexiconScope, entitiesInScope } from '../../tagging/lexiconScope';
import { findMeasurements } from '../../tagging/measurements';
import { joinTokens, mineTagsDetailed, uninformative } from '../../tagging/tagMining';
import { Tokenizer } from '../../tagging/tokenizer';
import { findYears, yearTags } from '../../tagging/years';

const lex = loadLexicon();
const tokenizer = new Tokenizer(lex);

describe('English tokenization', () => {
  it('lemmatises title-cased words too (wink leaves title case unlemmatised, so text is lower-cased first)', () => {
    expect(tokenizer.tokenize('Dragon Pendants')).toEqual(['dragon', 'pendant']);
    expect(tokenizer.tokenize('The Two Towers')).toEqual(['tower']);
    expect(tokenizer.tokenize('Carved Jade Earrings, Butterflies, Boxes')).toEqual(['carve', 'jade', 'earring', 'butterfly', 'box']);
  });

  it('keeps irregular forms whose verb reading would be a guess', () => {
    // wink tags "rose" as the past tense of "rise" in a short title; a famille rose vase is no rising.
    expect(tokenizer.tokenize('Famille Rose Vase')).toContain('rose');
    expect(tokenizer.tokenize('Lost and Found Box')).toContain('found');
  });

  it('drops stop words, numbers, possessive endings and punctuation', () => {
    const tokens = tokenizer.tokenize("Don't Be a Menace to South Central While Drinking Your Juice in the Hood (1996)");
    for (const stop of ['do', 'not', "n't", 'be', 'a', 'to', 'while', 'your', 'in', 'the']) expect(tokens).not.toContain(stop);
    expect(tokens).toEqual(expect.arrayContaining(['menace', 'south', 'central', 'juice', 'hood']));
    expect(tokens.some((t) => /^\d+$/.test(t))).toBe(false);
    expect(tokenizer.tokenize("Schindler's List")).toEqual(['schindler', 'list']);
    expect(tokenizer.tokenize('Star Trek II: The Wrath of Khan')).toEqual(['star', 'trek', 'wrath', 'khan']);
  });

  it('decodes HTML character references and never glues words together', () => {
    expect(tokenizer.tokenize('Melissa &amp; Doug Deluxe Stamp Set')).toEqual(['melissa', 'doug', 'deluxe', 'stamp', 'set']);
    expect(normalizeTitle('ALEX&amp;reg; Toys Crayola™')).not.toMatch(/reg|tm/);
    // jieba cut "For Love or Money" into pieces and mining glued them into "forlove".
    expect(tokenizer.phrases('For Love or Money')).toEqual([['love'], ['money']]);
  });

  it('splits mixed titles by script: Han runs to jieba, Latin runs to wink', () => {
    expect(tokenizer.tokenize('清代和田玉籽料手把件 Hetian Jade Pendants')).toEqual(['清代', '和田玉', '籽料', '手把件', 'hetian', 'jade', 'pendant']);
    // A phrase never runs across a change of script, but does run across the spaces Chinese sellers put between words.
    expect(tokenizer.phrases('清代 和田玉 jade pendant')).toEqual([['清代', '和田玉'], ['jade', 'pendant']]);
  });

  it('keeps stop words when asked (the options argument is optional; the keyword model uses the default)', () => {
    expect(new Tokenizer(lex, { keepStopWords: true }).tokenize('The Lord of the Rings')).toEqual(['the', 'lord', 'of', 'the', 'ring']);
  });
});

describe('years and measurements', () => {
  const years = (t: string) => findYears(normalizeTitle(t)).flatMap(yearTags);

  it('tags years and decades', () => {
    expect(years('Toy Story (1995)')).toEqual(['year:1995', 'decade:1990s']);
    expect(years('2005年 老班章 普洱')).toEqual(['year:2005', 'decade:2000s']);
    expect(years('1920s Art Deco Vase')).toEqual(['decade:1920s']);
  });

  it('does not read counts, codes or quantities as years', () => {
    for (const t of ['1000 Piece Puzzle', 'Hair Dryer 1875 Watt', 'Model 2000 Mixer', 'XR-1500', 'No. 1999', '1/2000 scale', 'price 1000元', '3000mAh', '12345']) expect({ t, y: years(t) }).toEqual({ t, y: [] });
  });

  it('reads an early year only where the title marks it as one', () => {
    expect(years('Early Learning Little Hands 1421')).toEqual([]);
    expect(years('Teapot, c. 1750')).toEqual(['year:1750', 'decade:1750s']);
    expect(years('1644年 青花 碗')).toEqual(['year:1644', 'decade:1640s']);
  });

  it('reads ounces, fluid ounces, inches, pounds and litres as metric measurements', () => {
    const m = (t: string) => findMeasurements(normalizeTitle(t)).map((x) => x.id);
    expect(m('Eau de Parfum Spray 1.7 Oz')).toEqual(['weight:48.19g']);
    expect(m('Body Wash, 16 Fluid Ounce, 3 fl. oz')).toEqual(['volume:473.18ml', 'volume:88.72ml']);
    expect(m('Shampoo 8.5-Ounce Bottle, 1 liter')).toEqual(['weight:240.97g', 'volume:1000ml']);
    expect(m('Frame 8 x 10 inches, Length 12 inches, 4 Pounds')).toEqual(['size:20.32x25.4cm', 'length:30.48cm', 'weight:1814.37g']);
    expect(m('1000 Piece Puzzle, 10 pc')).toEqual(['count:1000pcs', 'count:10pcs']);
    // "2 in 1" is no length in inches; a bare number of centimetres says nothing about what was measured.
    expect(m('2 in 1 Shampoo, 12 inch doll')).toEqual([]);
  });

  it('reads a Chinese label that follows a Latin unit', () => {
    const m = (t: string) => findMeasurements(normalizeTitle(t)).map((x) => x.id);
    expect(m('当代血檀手串长度19.3CM高度7.1厘米')).toEqual(['length:19.3cm', 'height:7.1cm']);
  });
});

describe('lexicon scope', () => {
  const ner = new EntityRecognizer(lex);

  it('is out of scope on English titles that are not about artifacts, so "Jade Empire" yields no material', () => {
    const titles = ['Jade Empire', 'Dragon Heart', 'Toy Story', 'The Silver Chair', 'Crouching Tiger, Hidden Dragon', 'Gold Diggers', 'Heat', 'Casino', 'Sense and Sensibility', 'Twelve Monkeys'];
    const recognised = titles.map((t) => ner.recognize(t));
    expect(recognised.flat().some((e) => e.type === 'material' || e.type === 'motif')).toBe(true); // the dictionary alone would fire
    const scope = decideLexiconScope(recognised, 'auto', 0.25);
    expect(scope.inScope).toBe(false);
    const kept = recognised.map((es) => entitiesInScope(es, scope)).flat();
    expect(kept.filter((e) => e.type !== 'measurement')).toEqual([]);
  });

  it('is in scope on synthetic-style Chinese artifact titles', () => {
    const titles = ['清代 和田玉 籽料 雕花 手把件 包浆', '明代 青花 瓷 碗 直径12cm', '紫砂壶 朱泥 西施壶 保真', '老班章 普洱 生茶 2005年', '黄花梨 手串 108颗'];
    const recognised = titles.map((t) => ner.recognize(t));
    const scope = decideLexiconScope(recognised, 'auto', 0.25);
    expect(scope.coverage).toBeGreaterThanOrEqual(0.8);
    expect(scope.inScope).toBe(true);
    expect(recognised.map((es) => entitiesInScope(es, scope)).flat().some((e) => e.type === 'material')).toBe(true);
  });

  it('can be forced either way', () => {
    expect(decideLexiconScope([], 'on', 0.25).inScope).toBe(true);
    expect(decideLexiconScope([ner.recognize('清代 和田玉 手把件')], 'off', 0.25).inScope).toBe(false);
  });
});

describe('mining filters', () => {
  it('rejects stop words, single characters, numbers and word pieces; Han phrases join without spaces, Latin ones with', () => {
    expect(uninformative(['the'], isLatinStopWord)).toBe('stopWord');
    expect(uninformative(['love', 'the'], isLatinStopWord)).toBe('stopWord');
    expect(uninformative(['x'])).toBe('singleCharacter');
    expect(uninformative(['1995'])).toBe('number');
    expect(uninformative(["'s"])).toBe('wordPiece');
    expect(uninformative(['eye', 'shadow'], isLatinStopWord)).toBeUndefined();
    expect(joinTokens(['寿眉', '生茶'])).toBe('寿眉生茶');
    expect(joinTokens(['eye', 'shadow'])).toBe('eye shadow');
  });

  it('caps document frequency: a word on most items is not a tag, a word on a few is', () => {
    const docs: string[][] = [];
    const ctx = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
    for (let i = 0; i < 200; i++) docs.push([ctx[i % 8] as string, 'set', ctx[(i * 3 + 1) % 8] as string, i % 10 === 0 ? 'porcelain' : `w${i % 37}x`]);
    const { tags, dropped } = mineTagsDetailed(docs, new Set(), { minCount: 5, minPmi: 2.5, minBoundaryEntropy: 1, maxN: 1, maxItemShare: 0.1 });
    const phrases = tags.map((t) => t.phrase);
    expect(phrases).not.toContain('set');
    expect(phrases).toContain('porcelain');
    expect(dropped.tooFrequent).toBeGreaterThan(0);
  });
});

describe('form categories and the classifier', () => {
  it('normalises width, case and whitespace, and applies synonyms', () => {
    expect(normalizeCategoryName('  Eye \t  Makeup ')).toBe('eye makeup');
    expect(normalizeCategoryName('ＥＹＥ Makeup')).toBe('eye makeup');
    const synonyms = buildCategorySynonyms([['Lip Stuff', 'Lipstick'], ['N/A', '']], undefined);
    expect(canonicalFormCategory('lip   stuff', synonyms)).toBe('lipstick');
    expect(canonicalFormCategory('n/a', synonyms)).toBeUndefined();
    expect(canonicalFormCategory('Film-Noir', synonyms)).toBe('film-noir');
    expect(canonicalFormCategory('   ', synonyms)).toBeUndefined();
  });

  it('reads the lexicon categories\' names as synonyms of their codes only when given the lexicon', () => {
    const inScope = buildCategorySynonyms([], lex);
    for (const raw of ['玉器', 'Jade', 'jade', ' JADE ']) expect(canonicalFormCategory(raw, inScope)).toBe('jade');
    expect(canonicalFormCategory('Calligraphy & Painting', inScope)).toBe('painting');
    expect(canonicalFormCategory('玉器', buildCategorySynonyms([], undefined))).toBe('玉器');
  });

  it('is deterministic and refuses to guess without a known feature', () => {
    const docs = [['token:teapot'], ['token:teapot', 'token:clay'], ['token:coin'], ['token:coin', 'token:silver']];
    const labels = ['zisha', 'zisha', 'coin', 'coin'];
    const a = trainNaiveBayes(docs, labels);
    const b = trainNaiveBayes([...docs].reverse(), [...labels].reverse());
    expect(predictNaiveBayes(a, ['token:clay'])?.category).toBe('zisha');
    expect(predictNaiveBayes(b, ['token:clay'])).toEqual(predictNaiveBayes(a, ['token:clay']));
    expect(predictNaiveBayes(a, ['token:never-seen'])).toBeUndefined();
  });

  it('measures itself on a seeded held-out share it never trained on', () => {
    const ids: string[] = [];
    const docs: string[][] = [];
    const labels: string[] = [];
    const words: Record<string, string[]> = { tea: ['puer', 'oolong', 'cake'], coin: ['dollar', 'silver', 'mint'], stamp: ['postage', 'sheet', 'cover'] };
    for (let i = 0; i < 600; i++) {
      const cat = ['tea', 'coin', 'stamp'][i % 3] as string;
      ids.push(`item-${i}`);
      docs.push([`token:${(words[cat] as string[])[i % 3]}`, `token:noise${i % 17}`]);
      labels.push(cat);
    }
    const ev = evaluateHeldOut(ids, docs, labels, 0.15, 7);
    expect(ev.heldOut / ev.labelled).toBeGreaterThan(0.1);
    expect(ev.heldOut / ev.labelled).toBeLessThan(0.2);
    expect(ev.trainedOn + ev.heldOut).toBe(600);
    expect(ev.accuracy).toBeGreaterThan(0.95);
    expect(ev.majorityBaseline).toBeLessThan(0.5);
    expect(evaluateHeldOut(ids, docs, labels, 0.15, 7)).toEqual(ev);
  });
});
