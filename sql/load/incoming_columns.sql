SELECT column_name FROM (DESCRIBE incoming);
