-- Item vectors as Parquet (item_id + vector), readable by DuckDB and anything else that reads Parquet.
COPY (SELECT item_idx, item_id, category, vector FROM vectors ORDER BY item_idx) TO $path (FORMAT parquet, COMPRESSION zstd);
DROP TABLE vectors;
