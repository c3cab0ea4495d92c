COPY (SELECT * FROM truth_topics ORDER BY topic_id) TO $topics_path (FORMAT parquet, COMPRESSION zstd);
COPY (SELECT * FROM truth_users ORDER BY user_id) TO $users_path (FORMAT parquet, COMPRESSION zstd);
COPY (SELECT * FROM truth_items ORDER BY item_id) TO $items_path (FORMAT parquet, COMPRESSION zstd);
DROP TABLE truth_topics;
DROP TABLE truth_users;
DROP TABLE truth_items;
