import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Dialect } from '../delimitedFile';
import { DataValidationError } from '../validationError';
import {
  checkOutputFree,
  findColumns,
  runImport,
  scanSourceFile,
  type DerivationOptions,
  type ImportReport,
} from './importTables';

/**
 * RecBole atomic files (https://recbole.io/docs/user_guide/data/atomic_files.html): a folder with
 * `<name>.inter` (one interaction per line) and `<name>.item` (one item per line), tab-separated,
 * with a header of `field:type`. RecBole writes no quoting: a `"` is part of the value.
 */

export const RECBOLE_FIELD_TYPES = ['token', 'token_seq', 'float', 'float_seq'] as const;
export type RecboleFieldType = (typeof RECBOLE_FIELD_TYPES)[number];

/** Fields tried, in order, when no --title-field / --category-field is given. */
export const RECBOLE_TITLE_FIELDS = ['title', 'movie_title', 'item_name', 'name'] as const;
export const RECBOLE_CATEGORY_FIELDS = ['category', 'categories', 'class', 'genre'] as const;

const RECBOLE_DIALECT: Dialect = { delimiter: '\t', quote: null };

export interface RecboleImportOptions extends DerivationOptions {
  /** Folder with one `<name>.inter` and its `<name>.item`. */
  dir: string;
  out: string;
  force?: boolean;
  userField?: string;
  itemField?: string;
  timeField?: string;
  /** Default: `rating` when the .inter file has it. Needed for minRating. */
  ratingField?: string;
  /** Default: the first of RECBOLE_TITLE_FIELDS the .item file has. */
  titleField?: string;
  /** Default: the first of RECBOLE_CATEGORY_FIELDS the .item file has; a token_seq gives its first token. */
  categoryField?: string;
  priceField?: string;
  sellerField?: string;
  progress?: (message: string) => void;
}

export interface RecboleFiles {
  name: string;
  inter: string;
  item: string;
}

interface RecboleField {
  name: string;
  type: RecboleFieldType;
}

/** The .inter file of the folder and the .item file of the same name. */
export function locateRecboleFiles(dir: string): RecboleFiles {
  const root = resolve(dir);
  if (!existsSync(root)) throw new DataValidationError([{ file: root, reason: 'does not exist' }]);
  if (!statSync(root).isDirectory()) throw new DataValidationError([{ file: root, reason: 'is not a folder' }]);
  const inters = readdirSync(root).filter((f) => f.endsWith('.inter')).sort();
  if (inters.length === 0) {
    throw new DataValidationError([{ file: root, reason: 'has no .inter file (RecBole atomic files: <name>.inter and <name>.item)' }]);
  }
  if (inters.length > 1) {
    throw new DataValidationError([{ file: root, reason: `has more than one .inter file (${inters.join(', ')}); keep one per folder` }]);
  }
  const name = basename(inters[0] as string, '.inter');
  const item = join(root, `${name}.item`);
  if (!existsSync(item)) {
    throw new DataValidationError([{ file: item, reason: `does not exist: ${name}.inter needs its ${name}.item, which holds the titles` }]);
  }
  return { name, inter: join(root, `${name}.inter`), item };
}

function parseHeader(file: string, header: string[]): RecboleField[] {
  return header.map((entry) => {
    const colon = entry.lastIndexOf(':');
    const type = entry.slice(colon + 1);
    if (colon <= 0 || !(RECBOLE_FIELD_TYPES as readonly string[]).includes(type)) {
      throw new DataValidationError([
        { file, column: entry, reason: `is not a RecBole field (name:type, type one of ${RECBOLE_FIELD_TYPES.join(', ')})` },
      ]);
    }
    return { name: entry.slice(0, colon), type: type as RecboleFieldType };
  });
}

/** A field chosen by option, else the first default the file has, else none. */
function pickField(fields: RecboleField[], chosen: string | undefined, defaults: readonly string[]): string | undefined {
  if (chosen !== undefined) return chosen;
  return defaults.find((d) => fields.some((f) => f.name === d));
}

export async function importRecbole(opts: RecboleImportOptions): Promise<ImportReport> {
  checkOutputFree(resolve(opts.out), opts.force ?? false);
  const files = locateRecboleFiles(opts.dir);
  const inter = await scanSourceFile(files.inter, RECBOLE_DIALECT);
  const item = await scanSourceFile(files.item, RECBOLE_DIALECT);
  const interFields = parseHeader(files.inter, inter.shape.header);
  const itemFields = parseHeader(files.item, item.shape.header);
  const interNames = interFields.map((f) => f.name);
  const itemNames = itemFields.map((f) => f.name);

  const ratingField = opts.ratingField ?? (interNames.includes('rating') ? 'rating' : undefined);
  if (opts.minRating !== undefined && ratingField === undefined) {
    throw new DataValidationError([
      { file: files.inter, column: 'rating', reason: `required column is missing (--min-rating needs --rating-field; the header has: ${interNames.join(', ')})` },
    ]);
  }
  const ev = findColumns(files.inter, interNames, {
    user: { name: opts.userField ?? 'user_id', option: '--user-field' },
    item: { name: opts.itemField ?? 'item_id', option: '--item-field' },
    time: { name: opts.timeField ?? 'timestamp', option: '--time-field' },
    rating: ratingField !== undefined ? { name: ratingField, option: '--rating-field' } : undefined,
  });

  const titleField = pickField(itemFields, opts.titleField, RECBOLE_TITLE_FIELDS);
  const categoryField = pickField(itemFields, opts.categoryField, RECBOLE_CATEGORY_FIELDS);
  const it = findColumns(files.item, itemNames, {
    item: { name: opts.itemField ?? 'item_id', option: '--item-field' },
    title: { name: titleField ?? 'title', option: opts.titleField !== undefined ? '--title-field' : `--title-field; tried ${RECBOLE_TITLE_FIELDS.join(', ')}` },
    category: categoryField !== undefined ? { name: categoryField, option: '--category-field' } : undefined,
    price: opts.priceField !== undefined ? { name: opts.priceField, option: '--price-field' } : undefined,
    seller: opts.sellerField !== undefined ? { name: opts.sellerField, option: '--seller-field' } : undefined,
  });
  // A token_seq category ("Animation Children's Comedy") gives its first token.
  const category = it.category ? { ...it.category, firstToken: itemFields[it.category.index]?.type === 'token_seq' } : undefined;
  return runImport({
    format: 'recbole',
    out: opts.out,
    force: opts.force,
    derivation: opts,
    progress: opts.progress,
    events: { ...inter, columns: ev },
    items: { ...item, columns: { ...it, category } },
    source: {
      dataset: files.name,
      dir: resolve(opts.dir),
      userField: ev.user.name,
      itemField: ev.item.name,
      timeField: ev.time.name,
      ratingField: ev.rating?.name ?? null,
      titleField: it.title.name,
      categoryField: category ? `${category.name}${category.firstToken ? ' (first token)' : ''}` : null,
      priceField: it.price?.name ?? null,
      sellerField: it.seller?.name ?? null,
    },
  });
}
