-- Clicks per item in the training data (train users, train period): popularity for negative sampling
-- and the warm/cold split of the next-click evaluation.
SELECT item_idx, n FROM feat.item_freq ORDER BY item_idx;
