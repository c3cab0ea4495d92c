-- Staging table the generator appends items to; times are epoch milliseconds until written.
CREATE OR REPLACE TEMP TABLE stage_items (
  item_id VARCHAR, title VARCHAR, seller_id VARCHAR, start_price DOUBLE,
  listed_ms BIGINT, ends_ms BIGINT, category VARCHAR, image_embedding FLOAT[]
);
