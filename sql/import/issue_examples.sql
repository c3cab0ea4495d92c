-- The first issues, items file first (an item's problem often explains its events' problems).
SELECT tbl, file, row_number, col, reason, value FROM import_issues
ORDER BY tbl = 'events', row_number, col LIMIT $limit;
