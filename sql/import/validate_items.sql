-- Every problem with an items row becomes an import_issues row naming file, row, column and reason.
INSERT INTO import_issues
SELECT 'items', $file, _row, $item_col, 'missing value', NULL FROM src_items WHERE item_id IS NULL;

INSERT INTO import_issues
SELECT 'items', $file, _row, $title_col, 'missing title (every item needs a non-blank title)', title
FROM src_items WHERE title IS NULL OR trim(title) = '';

INSERT INTO import_issues
SELECT 'items', $file, _row, $price_col,
       CASE WHEN price IS NULL THEN 'not a number' ELSE 'must be a finite number >= 0' END, price_text
FROM src_items
WHERE price_text IS NOT NULL AND (price IS NULL OR NOT isfinite(price) OR price < 0);

INSERT INTO import_issues
SELECT 'items', $file, _row, $item_col, 'duplicate item id (first seen in row ' || first_row || ')', item_id
FROM (
  SELECT _row, item_id, min(_row) OVER (PARTITION BY item_id) AS first_row FROM src_items WHERE item_id IS NOT NULL
) WHERE _row > first_row;
