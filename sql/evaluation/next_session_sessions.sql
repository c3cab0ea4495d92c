-- The sessions the next-session protocol scores: every session with a click of a user of $split
-- ('valid' or 'test') that starts in that split's period (valid: [train_end, valid_end),
-- test: [valid_end, end of data]). Epoch ms; in start order.
SELECT s.user_idx, s.session_key, epoch_ms(s.started_at)::DOUBLE AS started_at
FROM feat.session_stats s
JOIN feat.user_index u USING (user_idx)
CROSS JOIN feat.periods p
WHERE u.user_split = $split
  AND s.clicks > 0
  AND s.started_at >= CASE WHEN $split = 'valid' THEN p.train_end ELSE p.valid_end END
  AND (($split = 'valid' AND s.started_at < p.valid_end) OR $split <> 'valid')
ORDER BY s.started_at, s.user_idx, s.session_key;
