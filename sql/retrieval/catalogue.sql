-- Every item of the feature DB (attached as `feat`) with its auction window (epoch ms) and the
-- coarse category tagging gave it (attached as `tags`); '' where tagging has none.
SELECT i.item_idx, i.item_id,
       epoch_ms(i.listed_at)::DOUBLE AS listed_at,
       epoch_ms(i.auction_ends_at)::DOUBLE AS ends_at,
       coalesce(c.category, '') AS category
FROM feat.item_index i
LEFT JOIN tags.item_category c USING (item_id)
ORDER BY i.item_idx;
