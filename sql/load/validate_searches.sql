INSERT INTO load_issues
SELECT 'searches', _file, _row, c.col, 'missing value', NULL
FROM raw_searches, (VALUES ('search_id'), ('user_id'), ('query'), ('ts')) AS c(col)
WHERE CASE c.col WHEN 'search_id' THEN search_id WHEN 'user_id' THEN user_id WHEN 'query' THEN query ELSE ts END IS NULL;

INSERT INTO load_issues
SELECT 'searches', _file, _row, 'ts', 'cannot parse as a timestamp (ISO-8601 expected)', ts
FROM raw_searches WHERE ts IS NOT NULL AND TRY_CAST(ts AS TIMESTAMP) IS NULL;

INSERT INTO load_issues
SELECT 'searches', _file, _row, 'search_id',
       'duplicate search_id (first seen in ' || first_file || ' row ' || first_row || ')', search_id
FROM (
  SELECT *, first_value(_file) OVER w AS first_file, first_value(_row) OVER w AS first_row,
         row_number() OVER w AS k
  FROM raw_searches WHERE search_id IS NOT NULL
  WINDOW w AS (PARTITION BY search_id ORDER BY _file, _row ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
) WHERE k > 1;
