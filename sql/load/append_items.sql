-- Optional columns a file may lack become NULL; then the file's rows join the staging table.
ALTER TABLE incoming ADD COLUMN IF NOT EXISTS category VARCHAR;
ALTER TABLE incoming ADD COLUMN IF NOT EXISTS image_embedding VARCHAR;
INSERT INTO raw_items
SELECT item_id::VARCHAR, title::VARCHAR, seller_id::VARCHAR, start_price::VARCHAR, listed_at::VARCHAR,
       auction_ends_at::VARCHAR, category::VARCHAR, image_embedding::VARCHAR, $file, _row
FROM incoming;
DROP TABLE incoming;
