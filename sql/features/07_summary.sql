-- Row counts of every feature table, for the stage report.
SELECT 'item_index' AS table_name, count(*)::BIGINT AS n FROM item_index
UNION ALL SELECT 'user_index', count(*) FROM user_index
UNION ALL SELECT 'events_enriched', count(*) FROM events_enriched
UNION ALL SELECT 'behaviours', count(*) FROM behaviours
UNION ALL SELECT 'sessions', count(*) FROM session_stats
UNION ALL SELECT 'mi_examples', count(*) FROM mi_examples
UNION ALL SELECT 'eval_users', count(*) FROM eval_users
UNION ALL SELECT 'skipgram_positive', count(*) FILTER (WHERE label = 1) FROM skipgram_pairs
UNION ALL SELECT 'skipgram_negative', count(*) FILTER (WHERE label = 0) FROM skipgram_pairs
UNION ALL SELECT 'search_clicks', count(*) FROM search_clicks
UNION ALL SELECT 'item_cf', count(*) FROM item_cf;
