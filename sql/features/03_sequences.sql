-- Long-term and short-term behaviour for the multi-interest model.
-- A session's long-term context is the user's last $max_long clicks before the session started;
-- an example's short-term context is the clicks earlier in the same session (last $max_short).
CREATE OR REPLACE TABLE session_items AS
SELECT user_idx, session_key, min(ts) AS started_at, list(item_idx ORDER BY ts, item_idx) AS items
FROM behaviours GROUP BY ALL;

CREATE OR REPLACE TABLE session_long_term AS
SELECT user_idx, session_key, started_at,
       list_slice(
         flatten(list(items) OVER (PARTITION BY user_idx ORDER BY started_at, session_key
                                   ROWS BETWEEN $long_sessions PRECEDING AND 1 PRECEDING)),
         -$max_long, -1) AS long_term
FROM session_items;

-- Training examples: train users, train period; a click with no context at all makes none.
CREATE OR REPLACE TABLE mi_examples AS
WITH ex AS (
  SELECT b.user_idx, b.item_idx AS target, b.ts,
         coalesce(l.long_term, []) AS long_term,
         coalesce(list(b.item_idx) OVER (PARTITION BY b.user_idx, b.session_key ORDER BY b.ts, b.item_idx
                                         ROWS BETWEEN $max_short PRECEDING AND 1 PRECEDING), []) AS short_term
  FROM behaviours b
  JOIN user_index u USING (user_idx)
  JOIN session_long_term l USING (user_idx, session_key)
  WHERE u.user_split = 'train' AND b.period = 'train'
)
SELECT * FROM ex WHERE len(long_term) + len(short_term) > 0;

-- Held-out users for full-ranking evaluation: the first 80% of each one's clicks build the
-- interests, the last 20% are the targets (at least one of each).
CREATE OR REPLACE TABLE eval_users AS
WITH seqs AS (
  SELECT b.user_idx, u.user_split, list(b.item_idx ORDER BY b.seq_no) AS items, count(*) AS n
  FROM behaviours b JOIN user_index u USING (user_idx)
  WHERE u.user_split IN ('valid', 'test')
  GROUP BY ALL
)
SELECT user_idx, user_split,
       list_slice(items, 1, greatest(1, floor(n * 0.8))::BIGINT) AS history,
       list_slice(items, greatest(1, floor(n * 0.8))::BIGINT + 1, n) AS targets
FROM seqs WHERE n >= 2;
