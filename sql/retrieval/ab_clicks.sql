-- The logged clicks (one per user, item and session) of the users who have a held-out session:
-- their history before each simulated feed, and the replay targets within it.
SELECT b.user_idx, b.item_idx, epoch_ms(b.ts)::DOUBLE AS ts, b.session_key
FROM feat.behaviours b
WHERE b.user_idx IN (SELECT DISTINCT s.user_idx FROM feat.session_stats s CROSS JOIN feat.periods p WHERE s.started_at >= p.valid_end)
ORDER BY b.user_idx, b.ts, b.item_idx;
