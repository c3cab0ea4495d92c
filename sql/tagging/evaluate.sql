-- Entity precision and recall per type against the generator's ground truth (what it put in each title).
WITH truth AS (
  SELECT DISTINCT item_id, t.type, t.entity_id
  FROM (SELECT item_id, unnest(term_types) AS type, unnest(term_ids) AS entity_id FROM read_parquet($truth_items)) t
),
pred AS (SELECT DISTINCT item_id, type, entity_id FROM item_entities),
joined AS (
  SELECT coalesce(t.type, p.type) AS type, t.entity_id IS NOT NULL AS in_truth, p.entity_id IS NOT NULL AS in_pred
  FROM truth t FULL OUTER JOIN pred p ON t.item_id = p.item_id AND t.type = p.type AND t.entity_id = p.entity_id
)
SELECT type,
       count(*) FILTER (WHERE in_truth AND in_pred)::BIGINT AS tp,
       count(*) FILTER (WHERE in_pred AND NOT in_truth)::BIGINT AS fp,
       count(*) FILTER (WHERE in_truth AND NOT in_pred)::BIGINT AS fn
FROM joined GROUP BY type ORDER BY type;
