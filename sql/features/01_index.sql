-- Dense integer indices for items (in listing order) and users, the time split, and the user split.
-- Inputs: the loaded dataset attached as `src`.
CREATE OR REPLACE TABLE item_index AS
SELECT (row_number() OVER (ORDER BY listed_at, item_id) - 1)::INTEGER AS item_idx,
       item_id, seller_id, category AS form_category, start_price, listed_at, auction_ends_at, title,
       -- Price band: decile of log price, so bands mean the same across cheap and dear categories.
       (ntile($price_bands) OVER (ORDER BY start_price) - 1)::INTEGER AS price_band,
       image_embedding
FROM src.items;

-- Time split of the logged behaviour into train / valid / test periods at quantiles of the events'
-- times: the train period holds the first $train_end_frac of the events, whatever the growth of
-- the data over time (public datasets often log most of their events in their last years).
CREATE OR REPLACE TABLE periods AS
SELECT min(ts) AS data_start,
       quantile_disc(ts, $train_end_frac) AS train_end,
       quantile_disc(ts, $valid_end_frac) AS valid_end,
       max(ts) AS data_end
FROM src.events;

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
