-- Coarse category accuracy against the generator's truth, by how the category was decided.
-- accuracy compares names: meaningful for form, classifier and visual categories. purity maps each
-- assigned category to the truth category most of its items have (ties: the first name), so it
-- also measures categories without a meaningful name (clusters, `cluster:07`). Items left without a
-- category ('') count as wrong in both.
WITH joined AS (
  SELECT c.source, c.category, t.category AS truth
  FROM item_category c JOIN read_parquet($truth_items) t USING (item_id)
),
counted AS (
  SELECT category, truth, count(*) AS n FROM joined GROUP BY category, truth
),
majority AS (
  SELECT category, truth AS majority_truth
  FROM (SELECT category, truth, row_number() OVER (PARTITION BY category ORDER BY n DESC, truth) AS rank FROM counted)
  WHERE rank = 1
)
SELECT j.source, count(*)::BIGINT AS items,
       avg(CASE WHEN j.category <> '' AND j.category = j.truth THEN 1.0 ELSE 0.0 END) AS accuracy,
       avg(CASE WHEN j.category <> '' AND m.majority_truth = j.truth THEN 1.0 ELSE 0.0 END) AS purity
FROM joined j LEFT JOIN majority m USING (category)
GROUP BY ROLLUP (j.source) ORDER BY j.source NULLS LAST;
