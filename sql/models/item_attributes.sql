-- Every item's attribute ids for the item-unit network: its tags (highest weight first, at most
-- $max_tags; category tags excluded because the category is a feature of its own), seller, price band
-- and coarse category. Sellers with fewer than $min_seller_items items listed in the training period
-- share the out-of-vocabulary seller (index 0). seller_id and start_price let the recall service map a
-- lot listed later onto the same seller and price-band ids (serve/servingFiles.ts).
WITH bag AS (
  SELECT i.item_idx,
         list(t.tag_id ORDER BY t.weight DESC, t.tag_id) AS tag_ids,
         list(t.weight ORDER BY t.weight DESC, t.tag_id) AS tag_weights
  FROM feat.item_index i
  JOIN tags.item_tags t USING (item_id)
  JOIN tags.tags g USING (tag_id)
  WHERE g.type <> 'category'
  GROUP BY 1
),
sellers AS (
  SELECT seller_id, (row_number() OVER (ORDER BY seller_id))::INTEGER AS seller_idx
  FROM feat.item_index, feat.periods
  WHERE listed_at < train_end
  GROUP BY seller_id HAVING count(*) >= $min_seller_items
)
SELECT i.item_idx, i.item_id,
       coalesce(list_slice(b.tag_ids, 1, $max_tags), []) AS tag_ids,
       coalesce(list_slice(b.tag_weights, 1, $max_tags), []) AS tag_weights,
       i.seller_id, coalesce(s.seller_idx, 0) AS seller_idx,
       i.start_price, i.price_band,
       c.category,
       -- Listing time in days since the data starts: items on sale at the same time are co-clicked.
       epoch(i.listed_at - (SELECT data_start FROM feat.periods)) / 86400.0 AS listed_day
FROM feat.item_index i
LEFT JOIN bag b USING (item_idx)
LEFT JOIN sellers s USING (seller_id)
LEFT JOIN tags.item_category c USING (item_id)
ORDER BY i.item_idx;
