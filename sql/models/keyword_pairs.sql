-- Keyword model training data, all from the training period:
-- search → click pairs (kind = 'search'), and title → item pairs (kind = 'title') for items listed in it.
-- `day` is the search (or listing) time in days since the data starts, for the time code.
SELECT 'search' AS kind, s.query AS text, s.item_idx,
       epoch(s.ts - p.data_start) / 86400.0 AS day
FROM feat.search_clicks s, feat.periods p
WHERE s.period = 'train'
UNION ALL
SELECT 'title', i.title, i.item_idx, epoch(i.listed_at - p.data_start) / 86400.0
FROM feat.item_index i, feat.periods p
WHERE i.listed_at < p.train_end
ORDER BY kind, item_idx, text;
