-- Coarse category accuracy against the generator's truth, by how the category was decided.
SELECT c.source, count(*)::BIGINT AS items, avg(CASE WHEN c.category = t.category THEN 1.0 ELSE 0.0 END) AS accuracy
FROM item_category c JOIN read_parquet($truth_items) t USING (item_id)
GROUP BY ROLLUP (c.source) ORDER BY c.source NULLS LAST;
