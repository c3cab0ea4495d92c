-- A tiny end-to-end check of DuckDB: generate $n rows, aggregate them with bound parameters.
CREATE OR REPLACE TEMP TABLE smoke_items AS
SELECT i AS item_id, (i % $categories) AS category, i * $scale AS price
FROM range(1, $n + 1) AS t(i);

SELECT count(*)::INTEGER AS row_count,
       sum(price)::DOUBLE AS price_sum,
       count(DISTINCT category)::INTEGER AS categories
FROM smoke_items;
