CREATE OR REPLACE TEMP TABLE interests (user_idx INTEGER, user_id VARCHAR, interests FLOAT[][]);
