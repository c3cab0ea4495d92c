-- SELECT *: files written before strengths existed have no strengths column (the reader then weighs queries equally).
SELECT * FROM read_parquet($path) WHERE split = $split ORDER BY case_no;
