-- Every problem with an items row becomes one load_issues row naming file, row, column and reason.
INSERT INTO load_issues
SELECT 'items', _file, _row, c.col, 'missing value', NULL
FROM raw_items,
     (VALUES ('item_id'), ('title'), ('seller_id'), ('start_price'), ('listed_at'), ('auction_ends_at')) AS c(col)
WHERE CASE c.col
        WHEN 'item_id' THEN item_id WHEN 'title' THEN title WHEN 'seller_id' THEN seller_id
        WHEN 'start_price' THEN start_price WHEN 'listed_at' THEN listed_at ELSE auction_ends_at END IS NULL;

INSERT INTO load_issues
SELECT 'items', _file, _row, 'title', 'blank title', title FROM raw_items WHERE title IS NOT NULL AND trim(title) = '';

INSERT INTO load_issues
SELECT 'items', _file, _row, 'start_price',
       CASE WHEN TRY_CAST(start_price AS DOUBLE) IS NULL THEN 'not a number' ELSE 'must be a finite number >= 0' END,
       start_price
FROM raw_items
WHERE start_price IS NOT NULL
  AND (TRY_CAST(start_price AS DOUBLE) IS NULL OR NOT isfinite(TRY_CAST(start_price AS DOUBLE)) OR TRY_CAST(start_price AS DOUBLE) < 0);

INSERT INTO load_issues
SELECT 'items', _file, _row, 'listed_at', 'cannot parse as a timestamp (ISO-8601 expected)', listed_at
FROM raw_items WHERE listed_at IS NOT NULL AND TRY_CAST(listed_at AS TIMESTAMP) IS NULL;

INSERT INTO load_issues
SELECT 'items', _file, _row, 'auction_ends_at', 'cannot parse as a timestamp (ISO-8601 expected)', auction_ends_at
FROM raw_items WHERE auction_ends_at IS NOT NULL AND TRY_CAST(auction_ends_at AS TIMESTAMP) IS NULL;

INSERT INTO load_issues
SELECT 'items', _file, _row, 'auction_ends_at', 'is before listed_at (' || listed_at || ')', auction_ends_at
FROM raw_items
WHERE TRY_CAST(auction_ends_at AS TIMESTAMP) < TRY_CAST(listed_at AS TIMESTAMP);

INSERT INTO load_issues
SELECT 'items', _file, _row, 'image_embedding', 'not a list of numbers', left(image_embedding, 80)
FROM raw_items WHERE image_embedding IS NOT NULL AND TRY_CAST(image_embedding AS FLOAT[]) IS NULL;

INSERT INTO load_issues
SELECT 'items', _file, _row, 'image_embedding', 'contains NaN or infinity', left(image_embedding, 80)
FROM raw_items
WHERE TRY_CAST(image_embedding AS FLOAT[]) IS NOT NULL
  AND list_bool_or(list_transform(TRY_CAST(image_embedding AS FLOAT[]), x -> NOT isfinite(x)));

-- Embeddings must all have one length: the most common one.
INSERT INTO load_issues
WITH lengths AS (
  SELECT len(TRY_CAST(image_embedding AS FLOAT[])) AS n, count(*) AS c
  FROM raw_items WHERE TRY_CAST(image_embedding AS FLOAT[]) IS NOT NULL GROUP BY 1
), expected AS (SELECT n FROM lengths ORDER BY c DESC, n LIMIT 1)
SELECT 'items', _file, _row, 'image_embedding',
       'has ' || len(TRY_CAST(image_embedding AS FLOAT[])) || ' values, expected ' || (SELECT n FROM expected),
       left(image_embedding, 80)
FROM raw_items
WHERE TRY_CAST(image_embedding AS FLOAT[]) IS NOT NULL
  AND len(TRY_CAST(image_embedding AS FLOAT[])) <> (SELECT n FROM expected);

-- Duplicate ids: every occurrence after the first is an issue, and says where the first one is.
INSERT INTO load_issues
SELECT 'items', _file, _row, 'item_id',
       'duplicate item_id (first seen in ' || first_file || ' row ' || first_row || ')', item_id
FROM (
  SELECT *, first_value(_file) OVER w AS first_file, first_value(_row) OVER w AS first_row,
         row_number() OVER w AS k
  FROM raw_items WHERE item_id IS NOT NULL
  WINDOW w AS (PARTITION BY item_id ORDER BY _file, _row ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
) WHERE k > 1;
