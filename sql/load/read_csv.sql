-- One CSV file into `incoming`, every column as text, rows numbered in file order (1 = first data row).
CREATE OR REPLACE TEMP TABLE incoming AS
SELECT *, row_number() OVER () AS _row
FROM read_csv($file, header = true, all_varchar = true, auto_detect = true, strict_mode = false, null_padding = false);
