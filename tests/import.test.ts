import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importCommand } from '../cli/commands/import';
import { CliError } from '../cli/cliError';
import { decodeHtmlEntities } from '../data/import/htmlEntities';
import type { ImportReport } from '../data/import/importTables';
import { importInteractions, type InteractionsImportOptions } from '../data/import/interactions';
import { importRecbole, type RecboleImportOptions } from '../data/import/recbole';
import { loadDataset } from '../data/loadDataset';
import { DataValidationError } from '../data/validationError';
import { openDatabase } from '../platform/duckdb';

const DAY_MS = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');

// A tiny RecBole folder: i4 has no interaction, i2's title carries quotes RecBole does not escape
// and an HTML entity, class is a token_seq.
const T0 = 1_700_000_000;
const RECBOLE_INTER = [
  'user_id:token\titem_id:token\trating:float\ttimestamp:float',
  `u1\ti1\t5\t${T0}`,
  `u1\ti2\t2\t${T0 + 3600}`,
  `u2\ti1\t4\t${T0 + 86_400}`,
  `u2\ti3\t3.5\t${T0 + 90_000}`,
];
const RECBOLE_ITEM = [
  'item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq',
  "i1\tToy Story\t1995\tAnimation Children's Comedy",
  'i2\t"Quoted" Title &amp; more\t1996\tDrama',
  'i3\tHeat\t1995\tAction Crime Thriller',
  'i4\tNever Rated\t1990\tDrama',
];

// A tiny interactions pair: seconds, milliseconds and ISO-8601 times; event type synonyms.
const EVENTS_CSV = [
  'user_id,item_id,timestamp,rating,action',
  'u1,i1,1700000000,5,view',
  'u1,i1,1700000000123,5,click',
  'u2,i2,2023-11-15T10:00:00Z,1,purchase',
  'u2,i1,2023-11-15 12:00:00+02:00,,Like',
  'u3,i2,1700100000,2,rate',
];
const ITEMS_CSV = [
  'item_id,title,category,price,seller',
  'i1,"Jade &quot;Bi&quot; disc, Qing",jade,120.5,s1',
  'i2,Crabtree &amp; Evelyn&#8482; &#151; hand cream,,,',
  'i3,Never interacted,porcelain,10,s2',
];

describe('curio import', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'curio-import-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const lines = (rows: string[]) => rows.join('\n') + '\n';

  function recboleFolder(inter: string[] = RECBOLE_INTER, item: string[] | null = RECBOLE_ITEM): string {
    const dir = join(root, `recbole-${Math.random().toString(36).slice(2)}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'tiny.inter'), lines(inter));
    if (item) writeFileSync(join(dir, 'tiny.item'), lines(item));
    return dir;
  }

  function csvPair(events: string[] = EVENTS_CSV, items: string[] = ITEMS_CSV): { events: string; items: string } {
    const dir = join(root, `csv-${Math.random().toString(36).slice(2)}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'events.csv'), lines(events));
    writeFileSync(join(dir, 'items.csv'), lines(items));
    return { events: join(dir, 'events.csv'), items: join(dir, 'items.csv') };
  }

  /** Loads an imported folder the way a retrain does and returns the typed tables. */
  async function ingest(out: string): Promise<{ items: Record<string, unknown>[]; events: Record<string, unknown>[] }> {
    const db = join(root, `ingested-${Math.random().toString(36).slice(2)}.duckdb`);
    await loadDataset({ dir: out, out: db });
    const d = await openDatabase(db, { access_mode: 'READ_ONLY' });
    try {
      const items = (await d.connection.runAndReadAll(
        "SELECT item_id, title, seller_id, start_price, strftime(listed_at, '%Y-%m-%d %H:%M:%S') AS listed_at, strftime(auction_ends_at, '%Y-%m-%d %H:%M:%S') AS auction_ends_at, category FROM items ORDER BY item_id",
      )).getRowObjectsJS();
      const events = (await d.connection.runAndReadAll(
        "SELECT user_id, item_id, event_type, strftime(ts, '%Y-%m-%d %H:%M:%S.%g') AS ts, source, session_id FROM events ORDER BY user_id, ts",
      )).getRowObjectsJS();
      return { items, events };
    } finally {
      d.close();
    }
  }

  /** The import fails with a DataValidationError and leaves nothing behind: no OUT, no temp folder. */
  async function failure(run: (out: string) => Promise<ImportReport>): Promise<DataValidationError> {
    const out = join(root, 'out');
    const err = await run(out).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DataValidationError);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(root).filter((f) => f.includes('.tmp-'))).toEqual([]);
    return err as DataValidationError;
  }
  const recboleFails = (dir: string, opts: Partial<RecboleImportOptions> = {}) => failure((out) => importRecbole({ dir, out, ...opts }));
  const interactionsFails = (files: { events: string; items: string }, opts: Partial<InteractionsImportOptions> = {}) =>
    failure((out) => importInteractions({ ...files, out, ...opts }));

  describe('recbole', () => {
    it('imports atomic files into a folder that ingest loads, deriving the auction fields', async () => {
      const dir = recboleFolder();
      const out = join(root, 'ml-tiny');
      const progress: string[] = [];
      const report = await importRecbole({ dir, out, progress: (m) => progress.push(m) });
      expect(report).toMatchObject({
        format: 'recbole',
        rowsRead: { events: 4, items: 4 },
        items: 3,
        droppedItems: 1,
        droppedItemExamples: ['i4'],
        events: 4,
        eventsByType: { impression: 0, click: 4, favorite: 0, bid: 0, win: 0 },
        users: 2,
        titlesDecoded: 1,
        derivation: { listingLeadDays: 1, endingLagDays: 1, minRating: null },
        source: { titleField: 'movie_title', categoryField: 'class (first token)', ratingField: 'rating' },
      });
      expect(progress).toEqual(
        expect.arrayContaining(['read tiny.inter: 4 rows', 'read tiny.item: 4 rows', expect.stringMatching(/^items: 3 written, 1 left out .*i4/)]),
      );
      expect(readdirSync(out).sort()).toEqual(['events.parquet', 'import.json', 'items.parquet']);
      expect(JSON.parse(readFileSync(join(out, 'import.json'), 'utf8'))).toMatchObject({ items: 3, droppedItems: 1 });

      const { items, events } = await ingest(out);
      expect(items).toEqual([
        {
          item_id: 'i1',
          title: 'Toy Story',
          seller_id: 'unknown',
          start_price: 0,
          // First interaction T0, last T0 + 1 day: listed a day before, ends a day after.
          listed_at: iso(T0 * 1000 - DAY_MS),
          auction_ends_at: iso((T0 + 86_400) * 1000 + DAY_MS),
          category: 'Animation',
        },
        expect.objectContaining({ item_id: 'i2', title: '"Quoted" Title & more', category: 'Drama' }),
        expect.objectContaining({ item_id: 'i3', category: 'Action' }),
      ]);
      expect(events).toHaveLength(4);
      expect(events.every((e) => e.event_type === 'click' && e.source === 'detail' && e.session_id === null)).toBe(true);
    });

    it('turns interactions rated below --min-rating into impressions and moves the derived times', async () => {
      const out = join(root, 'rated');
      const report = await importRecbole({ dir: recboleFolder(), out, minRating: 3, listingLeadDays: 0.5, endingLagDays: 2 });
      expect(report.eventsByType).toMatchObject({ click: 3, impression: 1 });
      const { items, events } = await ingest(out);
      expect(events.filter((e) => e.event_type === 'impression').map((e) => [e.user_id, e.item_id])).toEqual([['u1', 'i2']]);
      expect(items[0]).toMatchObject({ listed_at: iso(T0 * 1000 - DAY_MS / 2), auction_ends_at: iso((T0 + 86_400) * 1000 + 2 * DAY_MS) });
    });

    it('takes the fields named by options', async () => {
      const inter = ['uid:token\tiid:token\tts:float', `a\tx\t${T0}`];
      const item = ['iid:token\tname:token_seq\tgenre:token\tcost:float\tshop:token', 'x\tBlue and white vase\tMing Qing\t99.5\tshop-7'];
      const out = join(root, 'fields');
      const report = await importRecbole({
        dir: recboleFolder(inter, item),
        out,
        userField: 'uid',
        itemField: 'iid',
        timeField: 'ts',
        priceField: 'cost',
        sellerField: 'shop',
      });
      expect(report.source).toMatchObject({ titleField: 'name', categoryField: 'genre', ratingField: null });
      const { items } = await ingest(out);
      // genre is a single token field: kept whole.
      expect(items[0]).toMatchObject({ title: 'Blue and white vase', category: 'Ming Qing', start_price: 99.5, seller_id: 'shop-7' });
    });

    it('names the folder when it is missing, has no .inter, or lacks the .item', async () => {
      let err = await recboleFails(join(root, 'nowhere'));
      expect(err.issues[0]).toEqual({ file: join(root, 'nowhere'), reason: 'does not exist' });
      const empty = join(root, 'empty');
      mkdirSync(empty);
      err = await recboleFails(empty);
      expect(err.issues[0]?.reason).toMatch(/^has no \.inter file/);
      const dir = recboleFolder(RECBOLE_INTER, null);
      err = await recboleFails(dir);
      expect(err.issues[0]).toMatchObject({ file: join(dir, 'tiny.item'), reason: expect.stringMatching(/^does not exist/) });
    });

    it('names the missing field and the fields present', async () => {
      const item = RECBOLE_ITEM.map((l, i) => (i === 0 ? l.replace('movie_title', 'label') : l));
      const dir = recboleFolder(RECBOLE_INTER, item);
      const err = await recboleFails(dir);
      expect(err.issues).toEqual([
        {
          file: join(dir, 'tiny.item'),
          column: 'title',
          reason: 'required column is missing (--title-field; tried title, movie_title, item_name, name; the header has: item_id, label, release_year, class)',
        },
      ]);
    });

    it('rejects a header that is not name:type', async () => {
      const dir = recboleFolder(['user_id\titem_id:token\ttimestamp:float', `u1\ti1\t${T0}`]);
      const err = await recboleFails(dir);
      expect(err.issues[0]).toMatchObject({ file: join(dir, 'tiny.inter'), column: 'user_id', reason: expect.stringMatching(/^is not a RecBole field/) });
    });

    it('asks for a rating field when --min-rating is given without one', async () => {
      const dir = recboleFolder(['user_id:token\titem_id:token\ttimestamp:float', `u1\ti1\t${T0}`]);
      const err = await recboleFails(dir, { minRating: 3 });
      expect(err.issues[0]).toMatchObject({ file: join(dir, 'tiny.inter'), column: 'rating', reason: expect.stringContaining('--min-rating needs --rating-field') });
    });

    it('names file, row, column and value of interactions that do not join, and unparsable values', async () => {
      const inter = [...RECBOLE_INTER, `u3\ti404\t4\t${T0}`, `u3\ti1\tfive\t${T0}`, 'u3\ti1\t4\tsoon'];
      const dir = recboleFolder(inter);
      const err = await recboleFails(dir);
      const file = join(dir, 'tiny.inter');
      expect(err.issues).toEqual([
        { file, row: 5, column: 'item_id', reason: 'unknown item id (not in tiny.item)', value: 'i404' },
        { file, row: 6, column: 'rating', reason: 'not a number', value: 'five' },
        { file, row: 7, column: 'timestamp', reason: 'cannot parse as a timestamp (unix seconds, unix milliseconds or ISO-8601 expected)', value: 'soon' },
      ]);
      expect(err.total).toBe(3);
    });

    it('reports rows with the wrong number of fields (quotes are text in RecBole)', async () => {
      const dir = recboleFolder([...RECBOLE_INTER, `u3\ti1\t"4\t${T0}\textra`]);
      const err = await recboleFails(dir);
      expect(err.issues).toEqual([{ file: join(dir, 'tiny.inter'), row: 5, reason: 'more fields than the header: 5, the header has 4 (line 6)' }]);
    });
  });

  describe('interactions', () => {
    it('imports an interactions CSV and an items CSV, mapping times, event types and optional columns', async () => {
      const files = csvPair();
      const out = join(root, 'csv-out');
      const report = await importInteractions({
        ...files,
        out,
        ratingCol: 'rating',
        eventTypeCol: 'action',
        categoryCol: 'category',
        priceCol: 'price',
        sellerCol: 'seller',
        minRating: 3,
      });
      expect(report).toMatchObject({
        format: 'interactions',
        rowsRead: { events: 5, items: 3 },
        items: 2,
        droppedItems: 1,
        droppedItemExamples: ['i3'],
        users: 3,
        titlesDecoded: 2,
        // rate with rating 2 < 3 becomes an impression; like without a rating stays a click.
        eventsByType: { impression: 2, click: 2, favorite: 0, bid: 0, win: 1 },
      });
      const { items, events } = await ingest(out);
      expect(items).toEqual([
        expect.objectContaining({ item_id: 'i1', title: 'Jade "Bi" disc, Qing', category: 'jade', start_price: 120.5, seller_id: 's1' }),
        expect.objectContaining({ item_id: 'i2', title: 'Crabtree & Evelyn™ — hand cream', category: null, start_price: 0, seller_id: 'unknown' }),
      ]);
      expect(events.map((e) => [e.user_id, e.item_id, e.event_type, e.ts])).toEqual([
        ['u1', 'i1', 'impression', '2023-11-14 22:13:20.000'],
        // 1700000000123 is milliseconds.
        ['u1', 'i1', 'click', '2023-11-14 22:13:20.123'],
        // ISO with an offset is converted to UTC.
        ['u2', 'i1', 'click', '2023-11-15 10:00:00.000'],
        ['u2', 'i2', 'win', '2023-11-15 10:00:00.000'],
        ['u3', 'i2', 'impression', '2023-11-16 02:00:00.000'],
      ]);
    });

    it('reads another delimiter and other column names', async () => {
      const files = csvPair(['uid;lot;when', 'a;x;2024-01-02T03:04:05Z'], ['lot_id;name', 'x;"Qing; famille rose"']);
      const out = join(root, 'semicolon');
      await importInteractions({ ...files, out, delimiter: ';', userCol: 'uid', itemCol: 'lot', timeCol: 'when', itemsIdCol: 'lot_id', titleCol: 'name' });
      const { items, events } = await ingest(out);
      expect(items[0]).toMatchObject({ item_id: 'x', title: 'Qing; famille rose', listed_at: '2024-01-01 03:04:05', auction_ends_at: '2024-01-03 03:04:05' });
      expect(events[0]).toMatchObject({ user_id: 'a', event_type: 'click' });
    });

    it('names the file, the missing column and the columns present', async () => {
      const files = csvPair(EVENTS_CSV.map((l, i) => (i === 0 ? l.replace('timestamp', 'ts') : l)));
      const err = await interactionsFails(files);
      expect(err.issues).toEqual([
        { file: files.events, column: 'timestamp', reason: 'required column is missing (--time-col; the header has: user_id, item_id, ts, rating, action)' },
      ]);
    });

    it('reports an unterminated quote as such, with row, line and column', async () => {
      const files = csvPair(EVENTS_CSV, [...ITEMS_CSV, 'i4,"Famille rose vase,porcelain,1,s1', 'i5,Celadon bowl,porcelain,2,s1']);
      const err = await interactionsFails(files);
      expect(err.issues).toEqual([
        { file: files.items, row: 4, column: 'title', reason: 'unterminated quote: the quoted value that opens on line 5 never closes' },
      ]);
    });

    it('reports rows with more or fewer fields than the header', async () => {
      const files = csvPair([...EVENTS_CSV, 'u4,i1', 'u4,i1,1700000000,4,click,oops']);
      const err = await interactionsFails(files);
      expect(err.issues).toEqual([
        { file: files.events, row: 6, reason: 'fewer fields than the header: 2, the header has 5 (line 7)' },
        { file: files.events, row: 7, reason: 'more fields than the header: 6, the header has 5 (line 8)' },
      ]);
    });

    it('names file, row, column and value of an event whose item is not in the items file', async () => {
      const files = csvPair([...EVENTS_CSV, 'u4,i404,1700000000,4,click']);
      const err = await interactionsFails(files);
      expect(err.issues).toEqual([{ file: files.events, row: 6, column: 'item_id', reason: 'unknown item id (not in items.csv)', value: 'i404' }]);
    });

    it('rejects unparsable timestamps and ratings, and unknown event types', async () => {
      const files = csvPair([...EVENTS_CSV, 'u4,i1,next tuesday,4,click', 'u4,i1,1700000000,five,click', 'u4,i1,1700000000,4,teleport']);
      const err = await interactionsFails(files, { ratingCol: 'rating', eventTypeCol: 'action' });
      expect(err.issues).toEqual([
        { file: files.events, row: 6, column: 'timestamp', reason: 'cannot parse as a timestamp (unix seconds, unix milliseconds or ISO-8601 expected)', value: 'next tuesday' },
        { file: files.events, row: 7, column: 'rating', reason: 'not a number', value: 'five' },
        { file: files.events, row: 8, column: 'action', reason: expect.stringMatching(/^unknown event type \(expected impression, click, favorite, bid, win, or view→impression, .*purchase→win/), value: 'teleport' },
      ]);
    });

    it('rejects items without a title, duplicate ids and bad prices, naming file and row', async () => {
      const files = csvPair(EVENTS_CSV, [...ITEMS_CSV, 'i4,  ,jade,1,s1', 'i1,Again,jade,1,s1', 'i5,Vase,jade,-3,s1', 'i6,&nbsp;,jade,1,s1']);
      const err = await interactionsFails(files, { priceCol: 'price' });
      expect(err.issues).toEqual([
        { file: files.items, row: 4, column: 'title', reason: 'missing title (every item needs a non-blank title)', value: '  ' },
        { file: files.items, row: 5, column: 'item_id', reason: 'duplicate item id (first seen in row 1)', value: 'i1' },
        { file: files.items, row: 6, column: 'price', reason: 'must be a finite number >= 0', value: '-3' },
        // A title that is only an entity is blank once decoded.
        { file: files.items, row: 7, column: 'title', reason: 'missing title (every item needs a non-blank title)', value: ' ' },
      ]);
    });

    it('names a missing file, and refuses to overwrite OUT without force', async () => {
      const files = csvPair();
      let err = await interactionsFails({ ...files, events: join(root, 'missing.csv') });
      expect(err.issues[0]).toEqual({ file: join(root, 'missing.csv'), reason: 'does not exist (the interactions file)' });

      const out = join(root, 'taken');
      mkdirSync(out);
      writeFileSync(join(out, 'keep.txt'), 'mine');
      err = await importInteractions({ ...files, out }).then(
        () => {
          throw new Error('expected a failure');
        },
        (e: unknown) => e as DataValidationError,
      );
      expect(err.issues[0]).toEqual({ file: out, reason: 'already exists; pass --force to replace it' });
      expect(readdirSync(out)).toEqual(['keep.txt']);
      await importInteractions({ ...files, out, force: true });
      expect(readdirSync(out).sort()).toEqual(['events.parquet', 'import.json', 'items.parquet']);
    });
  });

  it('lists the formats for an unknown one', async () => {
    const err = await importCommand.run(['foo']).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toMatch(/^unknown import format 'foo'; formats:\n {2}recbole .*\n {2}interactions /);
  });

  it('decodes named, decimal, hexadecimal and Windows-1252 references once', () => {
    expect(decodeHtmlEntities('Crabtree &amp; Evelyn &quot;Hand&quot; &#9733;&#x2605; &#151; caf&eacute; &amp;quot; &bogus; &#0;')).toBe(
      'Crabtree & Evelyn "Hand" ★★ — café &quot; &bogus; &#0;',
    );
  });
});
