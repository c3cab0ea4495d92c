-- The contract's tables. Public data has no auctions, so the auction fields are derived: an item is
-- "listed" a lead before its first interaction and "ends" a lag after its last, which keeps every
-- interaction inside the listing (the features treat lots on sale together as related). Items no
-- interaction refers to cannot be placed in time and are left out (counted by counts.sql).
CREATE OR REPLACE TEMP TABLE out_events AS
SELECT user_id, item_id,
       CASE WHEN coalesce(mapped_event_type, 'click') = 'click' AND rating < $min_rating::DOUBLE THEN 'impression'
            ELSE coalesce(mapped_event_type, 'click') END AS event_type,
       ts,
       'detail' AS source
FROM src_events;

CREATE OR REPLACE TEMP TABLE out_items AS
WITH span AS (SELECT item_id, min(ts) AS first_ts, max(ts) AS last_ts FROM out_events GROUP BY item_id)
SELECT i.item_id,
       trim(i.title) AS title,
       coalesce(i.seller_id, 'unknown') AS seller_id,
       coalesce(i.price, 0)::DOUBLE AS start_price,
       s.first_ts - to_microseconds(CAST($listing_lead_days::DOUBLE * 86400000000 AS BIGINT)) AS listed_at,
       s.last_ts + to_microseconds(CAST($ending_lag_days::DOUBLE * 86400000000 AS BIGINT)) AS auction_ends_at,
       i.category
FROM src_items i JOIN span s USING (item_id);
