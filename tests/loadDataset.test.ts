import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset } from '../data/loadDataset';
import { DataValidationError } from '../data/validationError';
import { openDatabase } from '../platform/duckdb';

const ITEMS_HEADER = 'item_id,title,seller_id,start_price,listed_at,auction_ends_at,category,image_embedding';
const goodItems = [
  ITEMS_HEADER,
  'i1,清代 和田玉 籽料 雕花 手把件,s1,1200,2026-06-01 10:00:00,2026-06-02 10:00:00,jade,"[0.1, 0.2, 0.3]"',
  'i2,青花 梅瓶 景德镇,s2,800.5,2026-06-01T11:00:00,2026-06-03T11:00:00,,"[0.3, 0.2, 0.1]"',
  'i3,Qing Dynasty Hetian Jade Pendant,s1,300,2026-06-01 12:00:00,2026-06-01 20:00:00,,',
];
const EVENTS_HEADER = 'user_id,item_id,event_type,ts,session_id,source,position,search_id';
const goodEvents = [
  EVENTS_HEADER,
  'u1,i1,impression,2026-06-01 12:00:00,,feed,0,',
  'u1,i1,click,2026-06-01 12:00:05,,feed,0,',
  'u2,i2,click,2026-06-01 13:00:00,sess-9,search,2,q1',
  'u2,i3,bid,2026-06-01 13:05:00,sess-9,detail,,',
];
const goodSearches = ['search_id,user_id,query,ts', 'q1,u2,青花 瓶,2026-06-01 12:59:00'];

describe('loading a dataset folder', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'curio-load-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function folder(files: Record<string, string | Buffer>): string {
    const dir = join(root, `data-${Math.random().toString(36).slice(2)}`);
    mkdirSync(dir);
    for (const [name, body] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), body);
    }
    return dir;
  }
  const csv = (lines: string[]) => lines.join('\n') + '\n';

  async function failure(dir: string, out = join(root, 'out.duckdb')): Promise<DataValidationError> {
    const err = await loadDataset({ dir, out }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DataValidationError);
    // All or nothing: no database, no temp files.
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(root).filter((f) => f.includes('.tmp-'))).toEqual([]);
    return err as DataValidationError;
  }

  it('loads valid CSV tables into typed tables and reports a digest', async () => {
    const dir = folder({ 'items.csv': csv(goodItems), 'events.csv': csv(goodEvents), 'searches.csv': csv(goodSearches) });
    const out = join(root, 'ok.duckdb');
    const report = await loadDataset({ dir, out });
    expect(report.rows).toEqual({ items: 3, events: 4, searches: 1 });
    expect(report.quarantined).toEqual({ items: 0, events: 0, searches: 0 });
    expect(report.digest).toMatch(/^[0-9a-f]{64}$/);
    const again = await loadDataset({ dir, out: join(root, 'ok2.duckdb') });
    expect(again.digest).toBe(report.digest);

    const db = await openDatabase(out, { access_mode: 'READ_ONLY' });
    try {
      const items = (await db.connection.runAndReadAll('SELECT item_id, start_price, category, image_embedding FROM items ORDER BY item_id')).getRowObjectsJS();
      expect(items[0]).toEqual({ item_id: 'i1', start_price: 1200, category: 'jade', image_embedding: [expect.closeTo(0.1, 5), expect.closeTo(0.2, 5), expect.closeTo(0.3, 5)] });
      expect(items[1]?.category).toBeNull();
      expect(items[2]?.image_embedding).toBeNull();
      const ev = (await db.connection.runAndReadAll("SELECT position, search_id FROM events WHERE event_type = 'bid'")).getRowObjectsJS();
      expect(ev).toEqual([{ position: null, search_id: null }]);
    } finally {
      db.close();
    }
  });

  it('names the file and column when a required column is missing', async () => {
    const noTitle = goodItems.map((l) => l.split(',').filter((_, i) => i !== 1).join(','));
    const dir = folder({ 'items.csv': csv(noTitle), 'events.csv': csv(goodEvents) });
    const err = await failure(dir);
    expect(err.issues[0]).toMatchObject({ file: join(dir, 'items.csv'), column: 'title' });
    expect(err.message).toContain('items.csv, column title: required column is missing');
  });

  it('names file, row, column, reason and value for wrong types and unparsable timestamps', async () => {
    const items = [...goodItems];
    items[2] = 'i2,青花 梅瓶,s2,eight hundred,2026-06-01T11:00:00,2026-06-03T11:00:00,,';
    const events = [...goodEvents, 'u3,i1,click,yesterday at noon,,feed,1,'];
    const dir = folder({ 'items.csv': csv(items), 'events.csv': csv(events) });
    const err = await failure(dir);
    expect(err.issues).toEqual(
      expect.arrayContaining([
        { file: join(dir, 'items.csv'), row: 2, column: 'start_price', reason: 'not a number', value: 'eight hundred' },
        { file: join(dir, 'events.csv'), row: 5, column: 'ts', reason: 'cannot parse as a timestamp (ISO-8601 expected)', value: 'yesterday at noon' },
      ]),
    );
    // The event on the rejected item i2 is reported too: rows only refer to rows that passed.
    expect(err.issues).toContainEqual({ file: join(dir, 'events.csv'), row: 3, column: 'item_id', reason: 'unknown item_id (not in items)', value: 'i2' });
    expect(err.total).toBe(3);
  });

  it('reports duplicate ids with where the first one is', async () => {
    const dir = folder({ 'items.csv': csv([...goodItems, goodItems[1] as string]), 'events.csv': csv(goodEvents) });
    const err = await failure(dir);
    expect(err.issues).toEqual([
      { file: join(dir, 'items.csv'), row: 4, column: 'item_id', reason: `duplicate item_id (first seen in ${join(dir, 'items.csv')} row 1)`, value: 'i1' },
    ]);
  });

  it('rejects events that name unknown items or searches', async () => {
    const events = [...goodEvents, 'u1,i404,click,2026-06-01 14:00:00,,feed,0,', 'u1,i1,click,2026-06-01 14:00:00,,search,0,q404'];
    const dir = folder({ 'items.csv': csv(goodItems), 'events.csv': csv(events), 'searches.csv': csv(goodSearches) });
    const err = await failure(dir);
    expect(err.issues.map((i) => [i.row, i.column, i.reason, i.value])).toEqual([
      [5, 'item_id', 'unknown item_id (not in items)', 'i404'],
      [6, 'search_id', 'unknown search_id (not in searches)', 'q404'],
    ]);
  });

  it('rejects invalid UTF-8 naming the line', async () => {
    const bytes = Buffer.concat([Buffer.from(csv(goodItems.slice(0, 3))), Buffer.from('i9,bad '), Buffer.from([0xe5, 0x92]), Buffer.from(' title,s1,1,2026-06-01,2026-06-02,,\n')]);
    const dir = folder({ 'items.csv': bytes, 'events.csv': csv(goodEvents) });
    const err = await failure(dir);
    expect(err.issues[0]?.file).toBe(join(dir, 'items.csv'));
    expect(err.issues[0]?.reason).toMatch(/^invalid UTF-8 at byte \d+ \(line 4\)/);
  });

  it('rejects empty files and header-only files', async () => {
    let err = await failure(folder({ 'items.csv': '', 'events.csv': csv(goodEvents) }));
    expect(err.message).toMatch(/items\.csv: is empty/);
    err = await failure(folder({ 'items.csv': csv(goodItems), 'events.csv': EVENTS_HEADER + '\n' }));
    expect(err.message).toMatch(/events\.csv: is empty \(no data rows\)/);
  });

  it('rejects NaN and inconsistent image embeddings', async () => {
    const items = [...goodItems, `i4,t,s1,1,2026-06-01,2026-06-02,,"[NaN, 1, 2]"`, `i5,t,s1,1,2026-06-01,2026-06-02,,"[1, 2]"`];
    const err = await failure(folder({ 'items.csv': csv(items), 'events.csv': csv(goodEvents) }));
    expect(err.issues.map((i) => [i.row, i.column, i.reason])).toEqual([
      [4, 'image_embedding', 'contains NaN or infinity'],
      [5, 'image_embedding', 'has 2 values, expected 3'],
    ]);
  });

  it('requires items and events, and one form per table', async () => {
    let err = await failure(folder({ 'items.csv': csv(goodItems) }));
    expect(err.message).toContain('has no events table (events.parquet, events.csv or a events/ folder)');
    err = await failure(folder({ 'items.csv': csv(goodItems), 'events.csv': csv(goodEvents), 'events/part-1.csv': csv(goodEvents) }));
    expect(err.message).toContain('has events in more than one form');
  });

  it('reports an unterminated quote as such, with its row, line and column', async () => {
    const items = [...goodItems.slice(0, 2), 'i2,"青花 梅瓶 景德镇,s2,800.5,2026-06-01T11:00:00,2026-06-03T11:00:00,,', goodItems[3] as string];
    const dir = folder({ 'items.csv': csv(items), 'events.csv': csv(goodEvents) });
    const err = await failure(dir);
    expect(err.issues).toEqual([
      { file: join(dir, 'items.csv'), row: 2, column: 'title', reason: 'unterminated quote: the quoted value that opens on line 3 never closes' },
    ]);
    expect(err.message).not.toContain('required column is missing');
  });

  it('reports rows with more or fewer fields than the header, with row and line', async () => {
    const events = [...goodEvents, 'u3,i1,click,2026-06-01 14:00:00,,feed,0,,extra', 'u3,i2,click'];
    // A quoted line break keeps row and line apart: row 2 spans lines 3 and 4.
    const items = [goodItems[0] as string, goodItems[1] as string, 'i2,"青花\n梅瓶",s2,800.5,2026-06-01T11:00:00,2026-06-03T11:00:00,,', 'i3,t,s1,300,2026-06-01 12:00:00'];
    const dir = folder({ 'items.csv': csv(items), 'events.csv': csv(events) });
    let err = await failure(dir);
    expect(err.issues).toEqual([{ file: join(dir, 'items.csv'), row: 3, reason: 'fewer fields than the header: 5, the header has 8 (line 5)' }]);
    err = await failure(folder({ 'items.csv': csv(goodItems), 'events.csv': csv(events) }));
    expect(err.total).toBe(2);
    expect(err.issues.map((i) => [i.row, i.reason])).toEqual([
      [5, 'more fields than the header: 9, the header has 8 (line 6)'],
      [6, 'fewer fields than the header: 3, the header has 8 (line 7)'],
    ]);
  });

  it('rejects text after a closing quote instead of dropping it', async () => {
    const items = [...goodItems, 'i4,"5" vase,s1,1,2026-06-01,2026-06-02,,'];
    const dir = folder({ 'items.csv': csv(items), 'events.csv': csv(goodEvents) });
    const err = await failure(dir);
    expect(err.issues).toEqual([
      { file: join(dir, 'items.csv'), row: 4, column: 'title', reason: 'text after a closing quote (line 5); a quote inside a quoted value must be doubled ("")' },
    ]);
  });

  it('reads quoted delimiters, doubled quotes, quoted line breaks, CRLF and blank lines', async () => {
    const items = [
      ITEMS_HEADER,
      'i1,"清代 ""和田玉"", 籽料",s1,1200,2026-06-01 10:00:00,2026-06-02 10:00:00,jade,',
      '',
      'i2,"青花\r\n梅瓶",s2,800.5,2026-06-01T11:00:00,2026-06-03T11:00:00,,',
      'i3,5" Qing vase,s1,300,2026-06-01 12:00:00,2026-06-01 20:00:00,,',
    ];
    const events = ['user_id,item_id,event_type,ts,source', 'u1,i1,click,2026-06-01 12:00:05,feed', 'u1,i3,bid,2026-06-01 13:00:00,detail', 'u1,i2,win,2026-06-01 14:00:00,detail'];
    const dir = folder({ 'items.csv': items.join('\r\n') + '\r\n', 'events.csv': csv(events) });
    const out = join(root, 'quoted.duckdb');
    const report = await loadDataset({ dir, out });
    expect(report.rows).toEqual({ items: 3, events: 3, searches: 0 });
    const db = await openDatabase(out, { access_mode: 'READ_ONLY' });
    try {
      const titles = (await db.connection.runAndReadAll('SELECT item_id, title FROM items ORDER BY item_id')).getRowObjectsJS();
      expect(titles).toEqual([
        { item_id: 'i1', title: '清代 "和田玉", 籽料' },
        { item_id: 'i2', title: '青花\r\n梅瓶' },
        { item_id: 'i3', title: '5" Qing vase' },
      ]);
    } finally {
      db.close();
    }
  });

  it('names a column that appears twice in the header', async () => {
    const items = goodItems.map((l, i) => (i === 0 ? l.replace('category', 'title') : l));
    const dir = folder({ 'items.csv': csv(items), 'events.csv': csv(goodEvents) });
    const err = await failure(dir);
    expect(err.issues).toEqual([{ file: join(dir, 'items.csv'), column: 'title', reason: 'appears more than once in the header (fields 2 and 7)' }]);
  });

  it('quarantines bad rows with their reasons instead of failing, when asked', async () => {
    const items = [...goodItems, 'i4,,s1,5,2026-06-01,2026-06-02,,'];
    const events = [...goodEvents, 'u1,i4,click,2026-06-01 14:00:00,,feed,0,', 'u1,i1,buy,2026-06-01 14:00:00,,feed,0,'];
    const dir = folder({ 'items.csv': csv(items), 'events.csv': csv(events) });
    const out = join(root, 'q.duckdb');
    const report = await loadDataset({ dir, out, quarantine: true });
    expect(report.rows).toEqual({ items: 3, events: 4, searches: 0 });
    expect(report.quarantined).toEqual({ items: 1, events: 2, searches: 0 });
    const db = await openDatabase(out, { access_mode: 'READ_ONLY' });
    try {
      const q = (await db.connection.runAndReadAll('SELECT table_name, row_number, column_name, reason FROM quarantine ORDER BY table_name, row_number')).getRowObjectsJS();
      expect(q).toEqual([
        { table_name: 'events', row_number: 5n, column_name: 'item_id', reason: 'unknown item_id (not in items)' },
        { table_name: 'events', row_number: 6n, column_name: 'event_type', reason: 'unknown event_type (expected impression, click, favorite, bid or win)' },
        { table_name: 'items', row_number: 4n, column_name: 'title', reason: 'missing value' },
      ]);
    } finally {
      db.close();
    }
  });
});
