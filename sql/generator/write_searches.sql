-- What the platform logs, and (separately) what the user meant.
COPY (SELECT search_id, user_id, query, epoch_ms(ts_ms) AS ts FROM stage_searches ORDER BY ts_ms, search_id)
  TO $path (FORMAT parquet, COMPRESSION zstd);
COPY (SELECT search_id, topic_id, term_ids FROM stage_searches ORDER BY search_id)
  TO $truth_path (FORMAT parquet, COMPRESSION zstd);
DROP TABLE stage_searches;
