-- Every problem with an interactions row becomes an import_issues row.
INSERT INTO import_issues
SELECT 'events', $file, _row, c.col, 'missing value', NULL
FROM src_events, (VALUES (1, $user_col), (2, $item_col), (3, $time_col)) AS c(k, col)
WHERE CASE c.k WHEN 1 THEN user_id WHEN 2 THEN item_id ELSE ts_text END IS NULL;

INSERT INTO import_issues
SELECT 'events', $file, _row, $time_col,
       'cannot parse as a timestamp (unix seconds, unix milliseconds or ISO-8601 expected)', ts_text
FROM src_events WHERE ts_text IS NOT NULL AND ts IS NULL;

INSERT INTO import_issues
SELECT 'events', $file, _row, $rating_col, 'not a number', rating_text
FROM src_events WHERE rating_text IS NOT NULL AND (rating IS NULL OR NOT isfinite(rating));

-- Without an event type column every row is a click, so only a given column can be wrong.
INSERT INTO import_issues
SELECT 'events', $file, _row, $event_type_col,
       CASE WHEN event_type_text IS NULL THEN 'missing value' ELSE 'unknown event type (expected ' || $accepted_event_types || ')' END,
       event_type_text
FROM src_events WHERE $has_event_type AND mapped_event_type IS NULL;

INSERT INTO import_issues
SELECT 'events', $file, e._row, $item_col, 'unknown item id (not in ' || $items_file || ')', e.item_id
FROM src_events e
WHERE e.item_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM src_items i WHERE i.item_id = e.item_id);
