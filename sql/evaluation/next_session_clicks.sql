-- Every click (one per user, item and session) of the users of $split, in time order: each scored
-- session's history (the clicks before it) and its targets (the clicks in it) come from here.
SELECT b.user_idx, b.item_idx, epoch_ms(b.ts)::DOUBLE AS ts, b.session_key
FROM feat.behaviours b
JOIN feat.user_index u USING (user_idx)
WHERE u.user_split = $split
ORDER BY b.user_idx, b.ts, b.item_idx;
