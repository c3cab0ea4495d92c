CREATE OR REPLACE TEMP TABLE stage_events (
  user_id VARCHAR, item_id VARCHAR, event_type VARCHAR, ts_ms BIGINT,
  session_id VARCHAR, source VARCHAR, position INTEGER, search_id VARCHAR
);
