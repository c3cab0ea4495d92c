SELECT count(*)::BIGINT AS n FROM import_issues;
