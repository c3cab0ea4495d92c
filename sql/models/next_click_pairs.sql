-- Next-click pairs of the held-out periods (valid and test): consecutive clicks within one session.
-- warm: the next item was clicked in the training data (so an id-based model has seen it); ts: of the
-- first click (epoch ms), for the daily popularity baseline.
-- A deterministic sample of at most $max_pairs keeps evaluation time bounded.
SELECT b.item_idx AS prev_item, b.next_item, f.item_idx IS NOT NULL AS warm, epoch_ms(b.ts)::DOUBLE AS ts
FROM (
  SELECT user_idx, session_key, item_idx, period, seq_no, ts,
         lead(item_idx) OVER (PARTITION BY user_idx, session_key ORDER BY ts, item_idx) AS next_item
  FROM feat.behaviours
) b
LEFT JOIN feat.item_freq f ON f.item_idx = b.next_item
WHERE b.period <> 'train' AND b.next_item IS NOT NULL AND b.next_item <> b.item_idx
ORDER BY hash(b.user_idx, b.seq_no, $seed)
LIMIT $max_pairs;
