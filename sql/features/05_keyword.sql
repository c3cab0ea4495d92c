-- Search → click pairs for the keyword model; held-out searches (valid/test periods) evaluate it.
CREATE OR REPLACE TABLE search_clicks AS
SELECT DISTINCT s.search_id, s.query, e.item_idx, s.ts,
       CASE WHEN s.ts < (SELECT train_end FROM periods) THEN 'train'
            WHEN s.ts < (SELECT valid_end FROM periods) THEN 'valid' ELSE 'test' END AS period
FROM src.searches s
JOIN events_enriched e ON e.search_id = s.search_id AND e.event_type = 'click';
