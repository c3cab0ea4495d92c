-- The tag vocabulary and what each item carries.
CREATE TABLE tags (tag_id INTEGER PRIMARY KEY, tag VARCHAR NOT NULL, type VARCHAR NOT NULL, source VARCHAR NOT NULL, item_count INTEGER NOT NULL);
CREATE TABLE item_tags (item_id VARCHAR NOT NULL, tag_id INTEGER NOT NULL, source VARCHAR NOT NULL, weight FLOAT NOT NULL);
-- Entities recognised in titles (canonical id, surface as written, character span of the normalised title).
CREATE TABLE item_entities (item_id VARCHAR, type VARCHAR, entity_id VARCHAR, surface VARCHAR, start_pos INTEGER, end_pos INTEGER);
CREATE TABLE item_tokens (item_id VARCHAR, tokens VARCHAR[]);
-- source: form (listing form), tags (derived from entities), visual (majority of the visual cluster), fallback.
CREATE TABLE item_category (item_id VARCHAR, category VARCHAR, source VARCHAR, visual_cluster INTEGER);
CREATE TABLE mined_tags (phrase VARCHAR, tokens VARCHAR[], count INTEGER, pmi DOUBLE, left_entropy DOUBLE, right_entropy DOUBLE);
CREATE TABLE visual_centroids (cluster INTEGER, centroid FLOAT[]);
