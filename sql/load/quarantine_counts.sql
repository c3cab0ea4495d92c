SELECT table_name, count(DISTINCT (file, row_number))::BIGINT AS n FROM quarantine GROUP BY 1;
