/**
 * The data contract: the tables Curio accepts, as Parquet or CSV (see docs/data-contract.md).
 * Nothing in the pipeline assumes the synthetic generator; any folder with these tables works.
 */

export type ColumnType = 'id' | 'text' | 'double' | 'integer' | 'timestamp' | 'float_list';

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  required: boolean;
  /** Allowed values, for enumerations. */
  values?: readonly string[];
  description: string;
}

export interface TableSpec {
  name: TableName;
  required: boolean;
  /** Column whose values must be unique. */
  key?: string;
  columns: ColumnSpec[];
  description: string;
}

export type TableName = 'items' | 'events' | 'searches';

export const EVENT_TYPES = ['impression', 'click', 'favorite', 'bid', 'win'] as const;
export const EVENT_SOURCES = ['feed', 'search', 'detail'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const CONTRACT_VERSION = 1;

export const TABLES: Record<TableName, TableSpec> = {
  items: {
    name: 'items',
    required: true,
    key: 'item_id',
    description: 'One row per auction lot.',
    columns: [
      { name: 'item_id', type: 'id', required: true, description: 'Unique id of the lot (string or integer).' },
      { name: 'title', type: 'text', required: true, description: 'Free-text title, Chinese or English; must not be blank.' },
      { name: 'seller_id', type: 'id', required: true, description: 'Seller of the lot.' },
      { name: 'start_price', type: 'double', required: true, description: 'Starting price (>= 0).' },
      { name: 'listed_at', type: 'timestamp', required: true, description: 'When the auction opened (ISO-8601).' },
      { name: 'auction_ends_at', type: 'timestamp', required: true, description: 'When the auction closes; not before listed_at.' },
      { name: 'category', type: 'text', required: false, description: 'Coarse category from the listing form, if the seller chose one.' },
      {
        name: 'image_embedding',
        type: 'float_list',
        required: false,
        description: 'Fixed-length image embedding (every row the same length, no NaN); in CSV as "[0.1, 0.2, ...]".',
      },
    ],
  },
  events: {
    name: 'events',
    required: true,
    description: 'User behaviour: one row per impression, click, favourite, bid or win.',
    columns: [
      { name: 'user_id', type: 'id', required: true, description: 'The user.' },
      { name: 'item_id', type: 'id', required: true, description: 'The lot; must exist in items.' },
      { name: 'event_type', type: 'text', required: true, values: EVENT_TYPES, description: 'impression, click, favorite, bid or win.' },
      { name: 'ts', type: 'timestamp', required: true, description: 'When it happened (ISO-8601).' },
      { name: 'session_id', type: 'id', required: false, description: 'Session, if the client logs one; otherwise sessions are cut at 30-minute gaps.' },
      { name: 'source', type: 'text', required: true, values: EVENT_SOURCES, description: 'feed, search or detail.' },
      { name: 'position', type: 'integer', required: false, description: '0-based position in the list the item was shown in.' },
      { name: 'search_id', type: 'id', required: false, description: 'For source = search: the search that led here; must exist in searches.' },
    ],
  },
  searches: {
    name: 'searches',
    required: false,
    key: 'search_id',
    description: 'Keyword searches. Clicks after a search are events with source = search and its search_id.',
    columns: [
      { name: 'search_id', type: 'id', required: true, description: 'Unique id of the search.' },
      { name: 'user_id', type: 'id', required: true, description: 'Who searched.' },
      { name: 'query', type: 'text', required: true, description: 'The keywords as typed.' },
      { name: 'ts', type: 'timestamp', required: true, description: 'When (ISO-8601).' },
    ],
  },
};

export const TABLE_ORDER: TableName[] = ['items', 'events', 'searches'];
