COPY (
  SELECT item_id, title, seller_id, start_price, listed_at, auction_ends_at, category
  FROM out_items ORDER BY listed_at, item_id
) TO $path (FORMAT parquet, COMPRESSION zstd);
