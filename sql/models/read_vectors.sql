SELECT item_idx, item_id, category, vector FROM read_parquet($path) ORDER BY item_idx;
