SELECT target, long_term, short_term FROM feat.mi_examples ORDER BY user_idx, ts, target;
