SELECT count(*)::BIGINT AS n FROM incoming;
