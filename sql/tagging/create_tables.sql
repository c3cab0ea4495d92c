-- The tag vocabulary and what each item carries.
CREATE TABLE tags (tag_id INTEGER PRIMARY KEY, tag VARCHAR NOT NULL, type VARCHAR NOT NULL, source VARCHAR NOT NULL, item_count INTEGER NOT NULL);
CREATE TABLE item_tags (item_id VARCHAR NOT NULL, tag_id INTEGER NOT NULL, source VARCHAR NOT NULL, weight FLOAT NOT NULL);
-- Entities recognised in titles (canonical id, surface as written, character span of the normalised title).
CREATE TABLE item_entities (item_id VARCHAR, type VARCHAR, entity_id VARCHAR, surface VARCHAR, start_pos INTEGER, end_pos INTEGER);
CREATE TABLE item_tokens (item_id VARCHAR, tokens VARCHAR[]);
-- source: form (the listing form's, normalised), classifier (naive Bayes over tags and tokens, for items
-- without one), visual (the classifier, from the image cluster alone), cluster (no labels: k-means of
-- the tag bags, category `cluster:NN`), none (nothing to go on; category '').
CREATE TABLE item_category (item_id VARCHAR, category VARCHAR, source VARCHAR, visual_cluster INTEGER);
-- count: occurrences; items: items carrying the phrase (what the document-frequency limits apply to).
CREATE TABLE mined_tags (phrase VARCHAR, tokens VARCHAR[], count INTEGER, pmi DOUBLE, left_entropy DOUBLE, right_entropy DOUBLE, items INTEGER);
CREATE TABLE visual_centroids (cluster INTEGER, centroid FLOAT[]);
