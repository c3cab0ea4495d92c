COPY (SELECT i.user_idx, u.user_id, i.interests FROM interests i JOIN feat.user_index u USING (user_idx) ORDER BY i.user_idx)
  TO $path (FORMAT parquet, COMPRESSION zstd);
DROP TABLE interests;
