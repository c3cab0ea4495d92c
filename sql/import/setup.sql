-- Session state for one import: UTC time, the issue list, and the event type synonyms.
-- ISO timestamps without an offset are read as UTC; the contract's timestamps carry no zone.
SET TimeZone = 'UTC';

CREATE OR REPLACE TEMP TABLE import_issues (
  tbl VARCHAR, file VARCHAR, row_number BIGINT, col VARCHAR, reason VARCHAR, value VARCHAR
);

CREATE OR REPLACE TEMP TABLE event_type_synonyms AS
SELECT unnest($synonym_names::VARCHAR[]) AS name, unnest($synonym_types::VARCHAR[]) AS event_type;

-- Unix seconds, unix milliseconds (a number >= 1e11: in seconds that would be the year 5138) or
-- ISO-8601. NULL when the text is none of these or out of range.
CREATE OR REPLACE TEMP MACRO parse_event_time(t) AS (
  CASE
    WHEN TRY_CAST(t AS DOUBLE) IS NULL THEN
      CASE WHEN isfinite(TRY_CAST(t AS TIMESTAMPTZ)) THEN TRY_CAST(t AS TIMESTAMPTZ)::TIMESTAMP END
    WHEN NOT isfinite(TRY_CAST(t AS DOUBLE)) THEN NULL
    WHEN abs(TRY_CAST(t AS DOUBLE)) >= 1e11 THEN TRY(make_timestamp(TRY_CAST(TRY_CAST(t AS DOUBLE) * 1000 AS BIGINT)))
    ELSE TRY(make_timestamp(TRY_CAST(TRY_CAST(t AS DOUBLE) * 1000000 AS BIGINT)))
  END
);
