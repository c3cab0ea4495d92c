CREATE OR REPLACE TEMP TABLE stage_searches (
  search_id VARCHAR, user_id VARCHAR, query VARCHAR, ts_ms BIGINT, topic_id INTEGER, term_ids VARCHAR[]
);
