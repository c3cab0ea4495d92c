-- The generator's latent interest topics (truth/topics.parquet).
SELECT topic_id, category, vector FROM read_parquet($path) ORDER BY topic_id;
