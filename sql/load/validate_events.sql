INSERT INTO load_issues
SELECT 'events', _file, _row, c.col, 'missing value', NULL
FROM raw_events, (VALUES ('user_id'), ('item_id'), ('event_type'), ('ts'), ('source')) AS c(col)
WHERE CASE c.col WHEN 'user_id' THEN user_id WHEN 'item_id' THEN item_id WHEN 'event_type' THEN event_type
                 WHEN 'ts' THEN ts ELSE source END IS NULL;

INSERT INTO load_issues
SELECT 'events', _file, _row, 'event_type', 'unknown event_type (expected impression, click, favorite, bid or win)', event_type
FROM raw_events WHERE event_type IS NOT NULL AND event_type NOT IN ('impression', 'click', 'favorite', 'bid', 'win');

INSERT INTO load_issues
SELECT 'events', _file, _row, 'source', 'unknown source (expected feed, search or detail)', source
FROM raw_events WHERE source IS NOT NULL AND source NOT IN ('feed', 'search', 'detail');

INSERT INTO load_issues
SELECT 'events', _file, _row, 'ts', 'cannot parse as a timestamp (ISO-8601 expected)', ts
FROM raw_events WHERE ts IS NOT NULL AND TRY_CAST(ts AS TIMESTAMP) IS NULL;

INSERT INTO load_issues
SELECT 'events', _file, _row, 'position', 'not a non-negative integer', position
FROM raw_events
WHERE position IS NOT NULL AND (TRY_CAST(position AS INTEGER) IS NULL OR TRY_CAST(position AS INTEGER) < 0);

-- Referential checks run against rows that passed their own table's checks.
INSERT INTO load_issues
SELECT 'events', e._file, e._row, 'item_id', 'unknown item_id (not in items)', e.item_id
FROM raw_events e
WHERE e.item_id IS NOT NULL
  AND NOT EXISTS (
    SELECT 1 FROM raw_items i
    WHERE i.item_id = e.item_id
      AND NOT EXISTS (SELECT 1 FROM load_issues q WHERE q.tbl = 'items' AND q.file = i._file AND q.row_number = i._row)
  );

INSERT INTO load_issues
SELECT 'events', e._file, e._row, 'search_id', 'unknown search_id (not in searches)', e.search_id
FROM raw_events e
WHERE e.search_id IS NOT NULL
  -- Without a searches table there is nothing to check search ids against.
  AND EXISTS (SELECT 1 FROM raw_searches)
  AND NOT EXISTS (
    SELECT 1 FROM raw_searches s
    WHERE s.search_id = e.search_id
      AND NOT EXISTS (SELECT 1 FROM load_issues q WHERE q.tbl = 'searches' AND q.file = s._file AND q.row_number = s._row)
  );
