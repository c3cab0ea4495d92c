-- The generator's hidden user truth (truth/users.parquet) keyed to the feature DB's user_idx.
SELECT u.user_idx, t.expertise, t.interests, t.interest_weights
FROM feat.user_index u
JOIN read_parquet($path) t USING (user_id)
ORDER BY u.user_idx;
