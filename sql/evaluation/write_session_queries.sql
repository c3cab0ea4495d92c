-- A user model's query vectors (its K interests, or one vector) for every scored session of the
-- next-session protocol, as Parquet; the evaluation stage ranks every method from these files.
COPY (SELECT * FROM session_queries ORDER BY split, case_no) TO $path (FORMAT parquet, COMPRESSION zstd);
DROP TABLE session_queries;
