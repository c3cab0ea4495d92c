-- Clicks per item in [$since_ms, $until_ms) (epoch ms): the popularity behind the feed fallback,
-- recomputed with the same schedule as item-CF so it never sees the future.
SELECT item_idx, count(*)::DOUBLE AS clicks
FROM feat.behaviours
WHERE ts >= epoch_ms($since_ms::BIGINT) AND ts < epoch_ms($until_ms::BIGINT)
GROUP BY item_idx
ORDER BY item_idx;
