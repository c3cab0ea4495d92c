SELECT (SELECT count(*) FROM src_items)::BIGINT AS items_read,
       (SELECT count(*) FROM src_events)::BIGINT AS events_read,
       (SELECT count(*) FROM out_items)::BIGINT AS items,
       (SELECT count(*) FROM src_items i WHERE NOT EXISTS (SELECT 1 FROM out_items o WHERE o.item_id = i.item_id))::BIGINT AS dropped_items,
       (SELECT list(item_id ORDER BY _row)[1:5] FROM src_items i
         WHERE NOT EXISTS (SELECT 1 FROM out_items o WHERE o.item_id = i.item_id)) AS dropped_examples,
       (SELECT count(*) FROM out_events)::BIGINT AS events,
       (SELECT count(DISTINCT user_id) FROM out_events)::BIGINT AS users,
       (SELECT count(*) FROM out_items WHERE category IS NOT NULL)::BIGINT AS items_with_category,
       (SELECT strftime(min(ts), '%Y-%m-%dT%H:%M:%SZ') FROM out_events) AS first_event,
       (SELECT strftime(max(ts), '%Y-%m-%dT%H:%M:%SZ') FROM out_events) AS last_event;
