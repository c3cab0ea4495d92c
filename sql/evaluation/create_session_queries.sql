CREATE OR REPLACE TEMP TABLE session_queries (split VARCHAR, case_no INTEGER, user_idx INTEGER, started_at DOUBLE, queries FLOAT[][], strengths FLOAT[]);
