-- The items file, read into `incoming` with its needed columns named src_*, becomes `src_items`.
-- A category written as a token sequence (RecBole token_seq, e.g. "Animation Children's Comedy")
-- keeps its first token: the listing form has one category per lot.
ALTER TABLE incoming ADD COLUMN IF NOT EXISTS src_category VARCHAR;
ALTER TABLE incoming ADD COLUMN IF NOT EXISTS src_price VARCHAR;
ALTER TABLE incoming ADD COLUMN IF NOT EXISTS src_seller VARCHAR;
CREATE OR REPLACE TEMP TABLE src_items AS
SELECT _row,
       nullif(trim(src_item), '') AS item_id,
       src_title AS title,
       nullif(CASE WHEN $category_first_token THEN regexp_extract(src_category, '\S+') ELSE trim(src_category) END, '') AS category,
       nullif(trim(src_price), '') AS price_text,
       TRY_CAST(trim(src_price) AS DOUBLE) AS price,
       nullif(trim(src_seller), '') AS seller_id
FROM incoming;
DROP TABLE incoming;
SELECT count(*)::BIGINT AS n FROM src_items;
