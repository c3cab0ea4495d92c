COPY (
  SELECT user_id, item_id, event_type, epoch_ms(ts_ms) AS ts, session_id, source, position, search_id
  FROM stage_events ORDER BY user_id, ts_ms
) TO $path (FORMAT parquet, COMPRESSION zstd);
DROP TABLE stage_events;
