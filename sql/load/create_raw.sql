-- Raw staging tables: every contract column as text, plus where each row came from (_file, _row),
-- so that every validation issue can name the file, the row and the column.
CREATE OR REPLACE TEMP TABLE raw_items (
  item_id VARCHAR, title VARCHAR, seller_id VARCHAR, start_price VARCHAR, listed_at VARCHAR,
  auction_ends_at VARCHAR, category VARCHAR, image_embedding VARCHAR, _file VARCHAR, _row BIGINT
);
CREATE OR REPLACE TEMP TABLE raw_events (
  user_id VARCHAR, item_id VARCHAR, event_type VARCHAR, ts VARCHAR, session_id VARCHAR, source VARCHAR,
  position VARCHAR, search_id VARCHAR, _file VARCHAR, _row BIGINT
);
CREATE OR REPLACE TEMP TABLE raw_searches (
  search_id VARCHAR, user_id VARCHAR, query VARCHAR, ts VARCHAR, _file VARCHAR, _row BIGINT
);
CREATE OR REPLACE TEMP TABLE load_issues (
  tbl VARCHAR, file VARCHAR, row_number BIGINT, col VARCHAR, reason VARCHAR, value VARCHAR
);
