-- The sessions logged in the held-out period: each one is a moment a user opened the app and gets
-- a feed in the simulation. $user_splits: comma-separated user_split values to include.
SELECT s.user_idx, u.user_id, s.session_key,
       epoch_ms(s.started_at)::DOUBLE AS started_at
FROM feat.session_stats s
JOIN feat.user_index u USING (user_idx)
CROSS JOIN feat.periods p
WHERE s.started_at >= p.valid_end
  AND list_contains(string_split($user_splits, ','), u.user_split)
ORDER BY s.started_at, s.user_idx, s.session_key;
