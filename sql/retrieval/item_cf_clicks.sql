-- The input of item-CF's daily recomputation (retrieval/itemCf.ts): each distinct (user, item)
-- click pair in [$since_ms, $until_ms) (epoch ms), grouped by user. The co-occurrence itself is
-- counted in TypeScript (coClickNeighbours); sql/retrieval/item_cf_until.sql is the same formula in
-- SQL, kept as its specification and checked against it in tests/unit/itemCf.test.ts.
SELECT DISTINCT user_idx, item_idx
FROM feat.behaviours
WHERE ts >= epoch_ms($since_ms::BIGINT) AND ts < epoch_ms($until_ms::BIGINT)
ORDER BY user_idx, item_idx;
