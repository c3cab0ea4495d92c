-- Held-out users for full-ranking evaluation (ComiRec protocol): the first 80% of each user's clicks
-- are the history, the last 20% the targets. The history splits like training examples do: the
-- last session of the history is the short-term input, the sessions before it the long-term input.
WITH b AS (
  SELECT b.user_idx, u.user_split, b.item_idx, b.session_key, b.seq_no,
         count(*) OVER (PARTITION BY b.user_idx) AS n
  FROM feat.behaviours b JOIN feat.user_index u USING (user_idx)
  WHERE u.user_split = $split
),
h AS (SELECT *, greatest(1, floor(n * 0.8))::BIGINT AS cut FROM b WHERE n >= 2),
last_session AS (SELECT user_idx, session_key AS last_key FROM h WHERE seq_no = cut - 1)
SELECT h.user_idx,
       coalesce(list_slice(list(item_idx ORDER BY seq_no) FILTER (WHERE seq_no < cut AND session_key <> last_key), -$max_long, -1), []) AS long_term,
       coalesce(list_slice(list(item_idx ORDER BY seq_no) FILTER (WHERE seq_no < cut AND session_key = last_key), -$max_short, -1), []) AS short_term,
       list(item_idx ORDER BY seq_no) FILTER (WHERE seq_no < cut) AS history,
       list(item_idx ORDER BY seq_no) FILTER (WHERE seq_no >= cut) AS targets
FROM h JOIN last_session USING (user_idx)
GROUP BY h.user_idx
ORDER BY h.user_idx;
