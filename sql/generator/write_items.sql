COPY (
  SELECT item_id, title, seller_id, start_price,
         epoch_ms(listed_ms) AS listed_at, epoch_ms(ends_ms) AS auction_ends_at,
         category, image_embedding
  FROM stage_items ORDER BY listed_ms, item_id
) TO $path (FORMAT parquet, COMPRESSION zstd);
DROP TABLE stage_items;
