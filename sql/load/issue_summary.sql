-- Issues grouped by table, column and reason, with where each kind first occurs.
SELECT tbl, col, regexp_replace(reason, ' \(first seen in .*\)$|, expected \d+$', '') AS reason, count(*) AS n,
       arg_min(file, (file, row_number)) AS first_file, arg_min(row_number, (file, row_number)) AS first_row
FROM load_issues GROUP BY ALL ORDER BY tbl, n DESC, col;
