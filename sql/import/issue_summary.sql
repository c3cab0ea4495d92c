-- Issues grouped by table, column and reason, with where each kind first occurs.
SELECT tbl, col, regexp_replace(reason, ' \(first seen in row \d+\)$', '') AS reason, count(*)::BIGINT AS n,
       min(file) AS first_file, min(row_number) AS first_row
FROM import_issues GROUP BY ALL ORDER BY tbl, n DESC, col;
