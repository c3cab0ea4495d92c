UPDATE src_items SET title = d.title
FROM (SELECT unnest($rows::BIGINT[]) AS _row, unnest($titles::VARCHAR[]) AS title) d
WHERE src_items._row = d._row;
