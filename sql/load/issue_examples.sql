SELECT tbl, file, row_number, col, reason, value FROM load_issues ORDER BY tbl, file, row_number, col LIMIT $limit;
