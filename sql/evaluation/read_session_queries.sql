SELECT case_no, user_idx, started_at, queries FROM read_parquet($path) WHERE split = $split ORDER BY case_no;
