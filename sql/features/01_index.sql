-- Dense integer indices for items (in listing order) and users, the time split, and the user split.
-- Inputs: the loaded dataset attached as `src`.
CREATE OR REPLACE TABLE item_index AS
SELECT (row_number() OVER (ORDER BY listed_at, item_id) - 1)::INTEGER AS item_idx,
       item_id, seller_id, category AS form_category, start_price, listed_at, auction_ends_at, title,
       -- Price band: decile of log price, so bands mean the same across cheap and dear categories.
       (ntile($price_bands) OVER (ORDER BY start_price) - 1)::INTEGER AS price_band,
       image_embedding
FROM src.items;

-- Time split over the span of the logged behaviour: train / valid / test periods.
CREATE OR REPLACE TABLE periods AS
WITH span AS (SELECT min(ts) AS t0, max(ts) AS t1 FROM src.events)
SELECT t0 AS data_start,
       t0 + (t1 - t0) * $train_end_frac AS train_end,
       t0 + (t1 - t0) * $valid_end_frac AS valid_end,
       t1 AS data_end
FROM span;

-- Held-out users for the full-ranking (ComiRec-style) evaluation, drawn by a seeded hash of the id.
CREATE OR REPLACE TABLE user_index AS
SELECT (row_number() OVER (ORDER BY user_id) - 1)::INTEGER AS user_idx, user_id,
       CASE WHEN h < $test_user_frac THEN 'test'
            WHEN h < $test_user_frac + $valid_user_frac THEN 'valid'
            ELSE 'train' END AS user_split
FROM (
  SELECT DISTINCT user_id, (hash(user_id || ':' || $seed::VARCHAR) % 1000000)::DOUBLE / 1000000 AS h
  FROM src.events
);
