import { resolve } from 'node:path';
import { DataValidationError } from '../validationError';
import { checkOutputFree, findColumns, requireFile, runImport, scanSourceFile, type DerivationOptions, type ImportReport } from './importTables';

/**
 * A generic pair of delimited files with a header row: interactions (user, item, timestamp,
 * optional rating and event type) and items (id, title, optional category, price, seller). This is
 * what most public recommendation datasets reduce to (scripts/datasets/ converts a few).
 */

export interface InteractionsImportOptions extends DerivationOptions {
  /** The interactions file. */
  events: string;
  /** The items file. */
  items: string;
  out: string;
  force?: boolean;
  /** One ASCII character (default ','); values may be quoted with `"`. */
  delimiter?: string;
  userCol?: string;
  itemCol?: string;
  /** Unix seconds, unix milliseconds (numbers >= 1e11) or ISO-8601; per value. */
  timeCol?: string;
  ratingCol?: string;
  eventTypeCol?: string;
  /** The item id column of the items file (default: the same name as itemCol). */
  itemsIdCol?: string;
  titleCol?: string;
  categoryCol?: string;
  priceCol?: string;
  sellerCol?: string;
  progress?: (message: string) => void;
}

export const INTERACTION_COLUMN_DEFAULTS = { userCol: 'user_id', itemCol: 'item_id', timeCol: 'timestamp', titleCol: 'title' } as const;

/** A delimiter the structure check can work with: one ASCII character that is not a quote or a line break. */
export function checkDelimiter(delimiter: string): string {
  if (delimiter.length !== 1 || delimiter.charCodeAt(0) > 0x7f || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new RangeError(`the delimiter must be one ASCII character other than a quote or a line break, got ${JSON.stringify(delimiter)}`);
  }
  return delimiter;
}

export async function importInteractions(opts: InteractionsImportOptions): Promise<ImportReport> {
  const delimiter = checkDelimiter(opts.delimiter ?? ',');
  if (opts.minRating !== undefined && opts.ratingCol === undefined) {
    throw new RangeError('minRating needs ratingCol: the column whose values are compared with it');
  }
  checkOutputFree(resolve(opts.out), opts.force ?? false);
  const dialect = { delimiter, quote: '"' };
  const events = await scanSourceFile(requireFile(opts.events, 'interactions file'), dialect);
  const items = await scanSourceFile(requireFile(opts.items, 'items file'), dialect);
  if (events.file === items.file) {
    throw new DataValidationError([{ file: events.file, reason: 'is given as both the interactions file and the items file' }]);
  }
  const itemCol = opts.itemCol ?? INTERACTION_COLUMN_DEFAULTS.itemCol;
  const eventColumns = findColumns(events.file, events.shape.header, {
    user: { name: opts.userCol ?? INTERACTION_COLUMN_DEFAULTS.userCol, option: '--user-col' },
    item: { name: itemCol, option: '--item-col' },
    time: { name: opts.timeCol ?? INTERACTION_COLUMN_DEFAULTS.timeCol, option: '--time-col' },
    rating: opts.ratingCol !== undefined ? { name: opts.ratingCol, option: '--rating-col' } : undefined,
    eventType: opts.eventTypeCol !== undefined ? { name: opts.eventTypeCol, option: '--event-type-col' } : undefined,
  });
  const itemColumns = findColumns(items.file, items.shape.header, {
    item: { name: opts.itemsIdCol ?? itemCol, option: opts.itemsIdCol !== undefined ? '--items-id-col' : '--item-col or --items-id-col' },
    title: { name: opts.titleCol ?? INTERACTION_COLUMN_DEFAULTS.titleCol, option: '--title-col' },
    category: opts.categoryCol !== undefined ? { name: opts.categoryCol, option: '--category-col' } : undefined,
    price: opts.priceCol !== undefined ? { name: opts.priceCol, option: '--price-col' } : undefined,
    seller: opts.sellerCol !== undefined ? { name: opts.sellerCol, option: '--seller-col' } : undefined,
  });
  return runImport({
    format: 'interactions',
    out: opts.out,
    force: opts.force,
    derivation: opts,
    progress: opts.progress,
    events: { ...events, columns: eventColumns },
    // A category column holds one category per item, so it is kept whole.
    items: { ...items, columns: { ...itemColumns, category: itemColumns.category ? { ...itemColumns.category, firstToken: false } : undefined } },
    source: {
      delimiter,
      userCol: eventColumns.user.name,
      itemCol: eventColumns.item.name,
      timeCol: eventColumns.time.name,
      ratingCol: eventColumns.rating?.name ?? null,
      eventTypeCol: eventColumns.eventType?.name ?? null,
      itemsIdCol: itemColumns.item.name,
      titleCol: itemColumns.title.name,
      categoryCol: itemColumns.category?.name ?? null,
      priceCol: itemColumns.price?.name ?? null,
      sellerCol: itemColumns.seller?.name ?? null,
    },
  });
}
