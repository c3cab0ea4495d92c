SELECT (SELECT count(*) FROM items)::BIGINT AS items,
       (SELECT count(*) FROM events)::BIGINT AS events,
       (SELECT count(*) FROM searches)::BIGINT AS searches;
