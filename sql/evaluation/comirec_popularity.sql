-- Clicks per item by the training users in every period: the ComiRec protocol's popularity, built
-- from the same users' data as its item-CF (features/06_item_cf.sql).
SELECT item_idx, clicks FROM feat.item_popularity ORDER BY item_idx;
