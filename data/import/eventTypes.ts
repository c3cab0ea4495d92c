import { EVENT_TYPES, type EventType } from '../contract';

/**
 * Event type names found in public interaction logs, mapped onto the contract's five. Values are
 * compared after `normaliseEventTypeName` (case, surrounding space, and `-` or spaces as `_`).
 * Anything else is an error: guessing what an unknown action means would bend the training signal.
 */
export const EVENT_TYPE_SYNONYMS: Readonly<Record<string, EventType>> = {
  ...Object.fromEntries(EVENT_TYPES.map((t) => [t, t])),
  view: 'impression',
  show: 'impression',
  exposure: 'impression',
  like: 'click',
  rate: 'click',
  rating: 'click',
  review: 'click',
  favourite: 'favorite',
  fav: 'favorite',
  wishlist: 'favorite',
  bookmark: 'favorite',
  // Putting a lot in the cart is a commitment short of buying it: the closest is a bid.
  cart: 'bid',
  addtocart: 'bid',
  add_to_cart: 'bid',
  purchase: 'win',
  buy: 'win',
  order: 'win',
  transaction: 'win',
};

/** The same normalisation as the SQL that maps event types (sql/import/stage_events.sql). */
export function normaliseEventTypeName(value: string): string {
  return value.trim().toLowerCase().replace(/[\s-]+/g, '_');
}

/** "view→impression, like→click, …" for help texts and error messages. */
export function describeEventTypeSynonyms(): string {
  return Object.entries(EVENT_TYPE_SYNONYMS)
    .filter(([name, type]) => name !== type)
    .map(([name, type]) => `${name}→${type}`)
    .join(', ');
}
