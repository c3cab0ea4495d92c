ALTER TABLE incoming ADD COLUMN IF NOT EXISTS session_id VARCHAR;
ALTER TABLE incoming ADD COLUMN IF NOT EXISTS position VARCHAR;
ALTER TABLE incoming ADD COLUMN IF NOT EXISTS search_id VARCHAR;
INSERT INTO raw_events
SELECT user_id::VARCHAR, item_id::VARCHAR, event_type::VARCHAR, ts::VARCHAR, session_id::VARCHAR, source::VARCHAR,
       position::VARCHAR, search_id::VARCHAR, $file, _row
FROM incoming;
DROP TABLE incoming;
