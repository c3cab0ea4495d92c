-- Typed tables from the rows that passed every check; quarantined rows keep their raw values.
CREATE TABLE quarantine AS
SELECT q.tbl AS table_name, q.file, q.row_number, q.col AS column_name, q.reason, q.value,
       to_json(r) AS raw_row
FROM load_issues q LEFT JOIN raw_items r ON q.tbl = 'items' AND r._file = q.file AND r._row = q.row_number
WHERE q.tbl = 'items'
UNION ALL
SELECT q.tbl, q.file, q.row_number, q.col, q.reason, q.value, to_json(r)
FROM load_issues q LEFT JOIN raw_events r ON r._file = q.file AND r._row = q.row_number
WHERE q.tbl = 'events'
UNION ALL
SELECT q.tbl, q.file, q.row_number, q.col, q.reason, q.value, to_json(r)
FROM load_issues q LEFT JOIN raw_searches r ON r._file = q.file AND r._row = q.row_number
WHERE q.tbl = 'searches';

CREATE TABLE items AS
SELECT item_id, title, seller_id, CAST(start_price AS DOUBLE) AS start_price,
       CAST(listed_at AS TIMESTAMP) AS listed_at, CAST(auction_ends_at AS TIMESTAMP) AS auction_ends_at,
       nullif(trim(category), '') AS category, CAST(image_embedding AS FLOAT[]) AS image_embedding
FROM raw_items r
WHERE NOT EXISTS (SELECT 1 FROM load_issues q WHERE q.tbl = 'items' AND q.file = r._file AND q.row_number = r._row)
ORDER BY listed_at, item_id;

CREATE TABLE searches AS
SELECT search_id, user_id, query, CAST(ts AS TIMESTAMP) AS ts
FROM raw_searches r
WHERE NOT EXISTS (SELECT 1 FROM load_issues q WHERE q.tbl = 'searches' AND q.file = r._file AND q.row_number = r._row)
ORDER BY ts, search_id;

CREATE TABLE events AS
SELECT user_id, item_id, event_type, CAST(ts AS TIMESTAMP) AS ts, session_id, source,
       CAST(position AS INTEGER) AS position, search_id
FROM raw_events r
WHERE NOT EXISTS (SELECT 1 FROM load_issues q WHERE q.tbl = 'events' AND q.file = r._file AND q.row_number = r._row)
ORDER BY user_id, ts;

DROP TABLE raw_items;
DROP TABLE raw_events;
DROP TABLE raw_searches;
