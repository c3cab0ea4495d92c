-- The generator's hidden item truth (truth/items.parquet) keyed to the feature DB's item_idx.
SELECT i.item_idx, t.topic_id, t.latent, t.quality
FROM feat.item_index i
JOIN read_parquet($path) t USING (item_id)
ORDER BY i.item_idx;
