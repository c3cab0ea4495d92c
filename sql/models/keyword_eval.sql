-- Held-out searches (valid and test periods) with the items clicked after each.
SELECT s.search_id, any_value(s.query) AS query, epoch(any_value(s.ts) - any_value(p.data_start)) / 86400.0 AS day,
       list(DISTINCT s.item_idx ORDER BY s.item_idx) AS clicked
FROM feat.search_clicks s, feat.periods p
WHERE s.period <> 'train'
GROUP BY s.search_id
ORDER BY s.search_id;
