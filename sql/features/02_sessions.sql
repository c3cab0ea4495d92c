-- Sessionization: the client's session_id when it logged one, otherwise a new session after a gap of
-- more than $session_gap_minutes between a user's consecutive events.
CREATE OR REPLACE TABLE events_enriched AS
WITH e AS (
  SELECT u.user_idx, i.item_idx, ev.event_type, ev.ts, ev.source, ev.position, ev.search_id, ev.session_id,
         lag(ev.ts) OVER (PARTITION BY u.user_idx ORDER BY ev.ts) AS prev_ts
  FROM src.events ev
  JOIN user_index u USING (user_id)
  JOIN item_index i USING (item_id)
), gaps AS (
  SELECT *,
         sum(CASE WHEN prev_ts IS NULL OR ts - prev_ts > to_minutes($session_gap_minutes::BIGINT) THEN 1 ELSE 0 END)
           OVER (PARTITION BY user_idx ORDER BY ts ROWS UNBOUNDED PRECEDING) AS gap_session
  FROM e
)
SELECT user_idx, item_idx, event_type, ts, source, position, search_id,
       coalesce('s:' || session_id, 'g:' || gap_session::VARCHAR) AS session_key,
       CASE WHEN ts < (SELECT train_end FROM periods) THEN 'train'
            WHEN ts < (SELECT valid_end FROM periods) THEN 'valid' ELSE 'test' END AS period
FROM gaps;

-- Positive behaviours: clicks, one per (user, item, session), in time order.
CREATE OR REPLACE TABLE behaviours AS
SELECT user_idx, item_idx, ts, session_key, period,
       (row_number() OVER (PARTITION BY user_idx ORDER BY ts, item_idx) - 1)::INTEGER AS seq_no
FROM (
  SELECT user_idx, item_idx, session_key, min(ts) AS ts, arg_min(period, ts) AS period
  FROM events_enriched WHERE event_type = 'click'
  GROUP BY ALL
);

CREATE OR REPLACE TABLE session_stats AS
SELECT user_idx, session_key, min(ts) AS started_at, max(ts) AS ended_at, count(*) AS events,
       count(*) FILTER (WHERE event_type = 'click') AS clicks
FROM events_enriched GROUP BY ALL;
