-- When each of these users first saw each item in the logs (any event: impression, click, ...), so
-- that a feed at time t excludes what the user had already been shown before t.
SELECT e.user_idx, e.item_idx, epoch_ms(min(e.ts))::DOUBLE AS first_seen
FROM feat.events_enriched e
WHERE e.user_idx IN (SELECT DISTINCT s.user_idx FROM feat.session_stats s CROSS JOIN feat.periods p WHERE s.started_at >= p.valid_end)
GROUP BY e.user_idx, e.item_idx
ORDER BY e.user_idx, first_seen, e.item_idx;
