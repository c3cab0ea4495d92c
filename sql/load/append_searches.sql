INSERT INTO raw_searches
SELECT search_id::VARCHAR, user_id::VARCHAR, query::VARCHAR, ts::VARCHAR, $file, _row
FROM incoming;
DROP TABLE incoming;
