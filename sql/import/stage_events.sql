-- The interactions file, read into `incoming` with its needed columns named src_*, becomes
-- `src_events`: the text as written (for error messages) next to the parsed values.
ALTER TABLE incoming ADD COLUMN IF NOT EXISTS src_rating VARCHAR;
ALTER TABLE incoming ADD COLUMN IF NOT EXISTS src_event_type VARCHAR;
CREATE OR REPLACE TEMP TABLE src_events AS
SELECT i._row,
       nullif(trim(i.src_user), '') AS user_id,
       nullif(trim(i.src_item), '') AS item_id,
       nullif(trim(i.src_time), '') AS ts_text,
       parse_event_time(trim(i.src_time)) AS ts,
       nullif(trim(i.src_rating), '') AS rating_text,
       TRY_CAST(trim(i.src_rating) AS DOUBLE) AS rating,
       nullif(trim(i.src_event_type), '') AS event_type_text,
       s.event_type AS mapped_event_type
FROM incoming i
LEFT JOIN event_type_synonyms s
  ON s.name = regexp_replace(lower(trim(i.src_event_type)), '[\s-]+', '_', 'g');
DROP TABLE incoming;
SELECT count(*)::BIGINT AS n FROM src_events;
