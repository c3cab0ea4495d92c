-- No session_id: the pipeline cuts sessions at 30-minute gaps when a log has none.
COPY (
  SELECT user_id, item_id, event_type, ts, source
  FROM out_events ORDER BY user_id, ts, item_id
) TO $path (FORMAT parquet, COMPRESSION zstd);
