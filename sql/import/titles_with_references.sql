-- Titles that contain HTML character references; they are decoded in TypeScript and written back.
SELECT _row, title FROM src_items WHERE regexp_matches(title, $pattern);
