-- One Parquet file into `incoming`, rows numbered in file order (1 = first row).
CREATE OR REPLACE TEMP TABLE incoming AS
SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS _row
FROM read_parquet($file, file_row_number = true);
