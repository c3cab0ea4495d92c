import { parseArgs } from 'node:util';
import { describeEventTypeSynonyms } from '../../data/import/eventTypes';
import { DEFAULT_ENDING_LAG_DAYS, DEFAULT_LISTING_LEAD_DAYS, type ImportReport } from '../../data/import/importTables';
import { importInteractions, INTERACTION_COLUMN_DEFAULTS } from '../../data/import/interactions';
import { importRecbole, RECBOLE_CATEGORY_FIELDS, RECBOLE_TITLE_FIELDS } from '../../data/import/recbole';
import { CliError } from '../cliError';
import type { Command } from '../command';

/** Options every format shares: the derived auction fields, --min-rating and --force. */
const COMMON_OPTIONS = {
  'min-rating': { type: 'string' },
  'listing-lead-days': { type: 'string' },
  'ending-lag-days': { type: 'string' },
  force: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

const COMMON_HELP = `  --min-rating R          interactions rated below R become impressions (default: all are clicks)
  --listing-lead-days D   listed_at = the item's first interaction minus D days (default ${DEFAULT_LISTING_LEAD_DAYS})
  --ending-lag-days D     auction_ends_at = its last interaction plus D days (default ${DEFAULT_ENDING_LAG_DAYS})
  --force                 replace OUT if it exists
OUT gets items.parquet, events.parquet and import.json (what was read and derived); check it with
'curio ingest OUT'. See docs/data-contract.md, "Importing public data".`;

const RECBOLE_HELP = `usage: curio import recbole DIR OUT [options]
  DIR holds RecBole atomic files: one <name>.inter and its <name>.item (tab-separated, header name:type)
  --user-field F          (default user_id)        --item-field F   (default item_id, in both files)
  --time-field F          (default timestamp; unix seconds)
  --rating-field F        (default rating, when present)
  --title-field F         (default: the first of ${RECBOLE_TITLE_FIELDS.join(', ')})
  --category-field F      (default: the first of ${RECBOLE_CATEGORY_FIELDS.join(', ')}; a token_seq gives its first token)
  --price-field F         start_price (default 0)  --seller-field F (default: seller_id 'unknown')
${COMMON_HELP}`;

const INTERACTIONS_HELP = `usage: curio import interactions --events FILE --items FILE OUT [options]
  both files: header row, comma-separated (or --delimiter C, 'tab' for a tab), "-quoted values
  interactions: --user-col (default ${INTERACTION_COLUMN_DEFAULTS.userCol}) --item-col (default ${INTERACTION_COLUMN_DEFAULTS.itemCol})
    --time-col (default ${INTERACTION_COLUMN_DEFAULTS.timeCol}; unix seconds, unix milliseconds or ISO-8601)
    --rating-col C, --event-type-col C (impression, click, favorite, bid, win; also ${describeEventTypeSynonyms()};
    default: every row is a click)
  items: --items-id-col (default: the --item-col name) --title-col (default ${INTERACTION_COLUMN_DEFAULTS.titleCol})
    --category-col C, --price-col C (default start_price 0), --seller-col C (default seller_id 'unknown')
${COMMON_HELP}`;

const FORMATS: Record<string, { summary: string; help: string; run(args: string[]): Promise<ImportReport | undefined> }> = {
  recbole: { summary: 'RecBole atomic files (<name>.inter + <name>.item), e.g. ml-100k', help: RECBOLE_HELP, run: runRecbole },
  interactions: { summary: 'a CSV of interactions and a CSV of items, e.g. from scripts/datasets/', help: INTERACTIONS_HELP, run: runInteractions },
};

function formatList(): string {
  return Object.entries(FORMATS)
    .map(([name, f]) => `  ${name.padEnd(13)} ${f.summary}`)
    .join('\n');
}

function usage(): string {
  return `usage: curio import FORMAT ... OUT\n\nformats:\n${formatList()}\n\nRun 'curio import FORMAT --help' for a format's options.`;
}

function parseNumber(option: string, value: string | undefined, { nonNegative = false } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (nonNegative && n < 0)) {
    throw new CliError(`--${option} must be a ${nonNegative ? 'number >= 0' : 'number'}, got '${value}'`);
  }
  return n;
}

function parseDelimiter(value: string): string {
  const delimiter = value === 'tab' || value === '\\t' ? '\t' : value;
  if (delimiter.length !== 1 || delimiter.charCodeAt(0) > 0x7f || delimiter === '"') {
    throw new CliError(`--delimiter must be one ASCII character other than '"' (or 'tab'), got '${value}'`);
  }
  return delimiter;
}

function commonOptions(values: { 'min-rating'?: string; 'listing-lead-days'?: string; 'ending-lag-days'?: string; force?: boolean }) {
  return {
    minRating: parseNumber('min-rating', values['min-rating']),
    listingLeadDays: parseNumber('listing-lead-days', values['listing-lead-days'], { nonNegative: true }),
    endingLagDays: parseNumber('ending-lag-days', values['ending-lag-days'], { nonNegative: true }),
    force: values.force ?? false,
    progress: (m: string) => console.log(`  ${m}`),
  };
}

async function runRecbole(args: string[]): Promise<ImportReport | undefined> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...COMMON_OPTIONS,
      'user-field': { type: 'string' },
      'item-field': { type: 'string' },
      'time-field': { type: 'string' },
      'rating-field': { type: 'string' },
      'title-field': { type: 'string' },
      'category-field': { type: 'string' },
      'price-field': { type: 'string' },
      'seller-field': { type: 'string' },
    },
  });
  if (values.help) {
    console.log(RECBOLE_HELP);
    return undefined;
  }
  const [dir, out, ...extra] = positionals;
  if (!dir || !out || extra.length > 0) throw new CliError(`expected DIR and OUT\n\n${RECBOLE_HELP}`);
  return importRecbole({
    dir,
    out,
    ...commonOptions(values),
    userField: values['user-field'],
    itemField: values['item-field'],
    timeField: values['time-field'],
    ratingField: values['rating-field'],
    titleField: values['title-field'],
    categoryField: values['category-field'],
    priceField: values['price-field'],
    sellerField: values['seller-field'],
  });
}

async function runInteractions(args: string[]): Promise<ImportReport | undefined> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...COMMON_OPTIONS,
      events: { type: 'string' },
      items: { type: 'string' },
      delimiter: { type: 'string', default: ',' },
      'user-col': { type: 'string' },
      'item-col': { type: 'string' },
      'time-col': { type: 'string' },
      'rating-col': { type: 'string' },
      'event-type-col': { type: 'string' },
      'items-id-col': { type: 'string' },
      'title-col': { type: 'string' },
      'category-col': { type: 'string' },
      'price-col': { type: 'string' },
      'seller-col': { type: 'string' },
    },
  });
  if (values.help) {
    console.log(INTERACTIONS_HELP);
    return undefined;
  }
  const [out, ...extra] = positionals;
  if (!values.events || !values.items || !out || extra.length > 0) {
    throw new CliError(`expected --events FILE, --items FILE and OUT\n\n${INTERACTIONS_HELP}`);
  }
  if (values['min-rating'] !== undefined && values['rating-col'] === undefined) {
    throw new CliError('--min-rating needs --rating-col: the column whose values are compared with it');
  }
  return importInteractions({
    events: values.events,
    items: values.items,
    out,
    ...commonOptions(values),
    delimiter: parseDelimiter(values.delimiter ?? ','),
    userCol: values['user-col'],
    itemCol: values['item-col'],
    timeCol: values['time-col'],
    ratingCol: values['rating-col'],
    eventTypeCol: values['event-type-col'],
    itemsIdCol: values['items-id-col'],
    titleCol: values['title-col'],
    categoryCol: values['category-col'],
    priceCol: values['price-col'],
    sellerCol: values['seller-col'],
  });
}

function printSummary(r: ImportReport): void {
  const types = Object.entries(r.eventsByType)
    .filter(([, n]) => n > 0)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  console.log(`imported ${r.format}: ${r.items} items, ${r.events} events (${types}), ${r.users} users in ${r.seconds.toFixed(1)} s -> ${r.out}`);
  if (r.droppedItems > 0) {
    console.log(`  left out ${r.droppedItems} of ${r.rowsRead.items} items that no interaction refers to (e.g. ${r.droppedItemExamples.join(', ')})`);
  }
  const d = r.derivation;
  console.log(
    `  derived: listed_at = first interaction - ${d.listingLeadDays} d, auction_ends_at = last + ${d.endingLagDays} d, ` +
      `seller_id 'unknown' and start_price 0 where absent, source 'detail', no session_id` +
      (d.minRating !== null ? `; rating < ${d.minRating} -> impression` : ''),
  );
  console.log(`  next: curio ingest ${r.out}`);
}

export const importCommand: Command = {
  summary: 'convert public interaction data (RecBole atomic files, interaction CSVs) into a data folder',
  async run(args) {
    const [format, ...rest] = args;
    if (!format || format === '--help' || format === '-h' || format === 'help') {
      console.log(usage());
      return;
    }
    const handler = FORMATS[format];
    if (!handler) throw new CliError(`unknown import format '${format}'; formats:\n${formatList()}`);
    try {
      const report = await handler.run(rest);
      if (report) printSummary(report);
    } catch (err) {
      // A RangeError is an out-of-range option value; Curio's own errors print as they are (cli/main.ts).
      if (err instanceof RangeError) throw new CliError(err.message);
      if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) throw new CliError(`${err.message}\n\n${handler.help}`);
      throw err;
    }
  },
};
