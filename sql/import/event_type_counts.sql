SELECT event_type, count(*)::BIGINT AS n FROM out_events GROUP BY 1 ORDER BY 1;
