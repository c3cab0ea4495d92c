CREATE OR REPLACE TEMP TABLE vectors (item_idx INTEGER, item_id VARCHAR, category VARCHAR, vector FLOAT[]);
