-- One delimited file into `incoming`, every column as text, rows numbered in file order (1 = first
-- data row). The dialect and the column names come from the structure check that ran before
-- (data/delimitedFile.ts), never from DuckDB's sniffer: on a malformed file the sniffer guesses
-- another dialect instead of failing. `$quote` = '' reads quotes as plain text.
CREATE OR REPLACE TEMP TABLE incoming AS
SELECT *, row_number() OVER () AS _row
FROM read_csv($file, header = true, auto_detect = false, columns = $columns, delim = $delimiter,
              quote = $quote, escape = $quote, strict_mode = false, null_padding = false);
