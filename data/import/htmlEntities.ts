/**
 * HTML character references in titles. Public catalogues scraped from web pages (Amazon's above
 * all) carry `&amp;`, `&quot;`, `&reg;`, `&#9733;` in their titles; left encoded they become tokens
 * of their own and split words ("Crabtree &amp; Evelyn").
 */

const NAMED: Readonly<Record<string, string>> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'",
  // A title is free text: a no-break space is just a space.
  nbsp: ' ',
  ndash: '–', mdash: '—', hellip: '…', lsquo: '‘', rsquo: '’', sbquo: '‚', ldquo: '“', rdquo: '”', bdquo: '„',
  bull: '•', middot: '·', trade: '™', dagger: '†', Dagger: '‡', permil: '‰', lsaquo: '‹', rsaquo: '›',
  euro: '€', hearts: '♥', spades: '♠', clubs: '♣', diams: '♦', star: '☆', minus: '−', prime: '′', Prime: '″',
  larr: '←', rarr: '→', uarr: '↑', darr: '↓', harr: '↔', infin: '∞', asymp: '≈', ne: '≠', le: '≤', ge: '≥',
  OElig: 'Œ', oelig: 'œ', Scaron: 'Š', scaron: 'š', Yuml: 'Ÿ', fnof: 'ƒ', circ: 'ˆ', tilde: '˜',
  alpha: 'α', beta: 'β', gamma: 'γ', delta: 'δ', mu: 'μ', pi: 'π', Omega: 'Ω', omega: 'ω',
  ...latin1Entities(),
};

/** The named references of ISO-8859-1, code points 160–255 in order (HTML 4). */
function latin1Entities(): Record<string, string> {
  const names = (
    'nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 acute micro ' +
    'para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde Auml Aring AElig Ccedil ' +
    'Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash Ugrave ' +
    'Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc atilde auml aring aelig ccedil egrave eacute ecirc euml ' +
    'igrave iacute icirc iuml eth ntilde ograve oacute ocirc otilde ouml divide oslash ugrave uacute ucirc uuml yacute thorn yuml'
  ).split(' ');
  const out: Record<string, string> = {};
  names.forEach((name, i) => {
    // nbsp is defined above as a plain space.
    if (name !== 'nbsp') out[name] = String.fromCodePoint(160 + i);
  });
  return out;
}

/**
 * Numeric references to 128–159 mean Windows-1252 characters, not C1 controls (the HTML5 parsing
 * rule): pages written in cp1252 produce `&#151;` for an em dash and `&#153;` for ™.
 */
const WINDOWS_1252: Readonly<Record<number, string>> = {
  0x80: '€', 0x82: '‚', 0x83: 'ƒ', 0x84: '„', 0x85: '…', 0x86: '†', 0x87: '‡', 0x88: 'ˆ', 0x89: '‰', 0x8a: 'Š',
  0x8b: '‹', 0x8c: 'Œ', 0x8e: 'Ž', 0x91: '‘', 0x92: '’', 0x93: '“', 0x94: '”', 0x95: '•', 0x96: '–', 0x97: '—',
  0x98: '˜', 0x99: '™', 0x9a: 'š', 0x9b: '›', 0x9c: 'œ', 0x9e: 'ž', 0x9f: 'Ÿ',
};

const REFERENCE = /&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([A-Za-z][A-Za-z0-9]{1,31}));/g;

/** The pattern SQL uses to find titles worth decoding (kept in step with REFERENCE). */
export const HTML_REFERENCE_PATTERN = '&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]+);';

/**
 * Decodes character references in one pass, so `&amp;quot;` becomes `&quot;` (what the page
 * showed), not `"`. Unknown names and invalid code points stay as written.
 */
export function decodeHtmlEntities(text: string): string {
  return text.replace(REFERENCE, (whole, decimal: string | undefined, hex: string | undefined, name: string | undefined) => {
    if (name !== undefined) return NAMED[name] ?? whole;
    const code = decimal !== undefined ? Number.parseInt(decimal, 10) : Number.parseInt(hex ?? '', 16);
    const cp1252 = WINDOWS_1252[code];
    if (cp1252 !== undefined) return cp1252;
    const valid = code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) && !(code >= 0x80 && code < 0xa0);
    return valid ? String.fromCodePoint(code) : whole;
  });
}
