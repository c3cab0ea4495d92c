-- The hidden world: topics (latent interest clusters), users' interests, items' latent vectors,
-- quality and the terms each title was composed from.
CREATE OR REPLACE TEMP TABLE truth_topics (
  topic_id INTEGER, category VARCHAR, vector FLOAT[], term_ids VARCHAR[], popularity DOUBLE
);
CREATE OR REPLACE TEMP TABLE truth_users (
  user_id VARCHAR, expertise VARCHAR, interests INTEGER[], interest_weights DOUBLE[], activity DOUBLE
);
CREATE OR REPLACE TEMP TABLE truth_items (
  item_id VARCHAR, topic_id INTEGER, category VARCHAR, latent FLOAT[], quality DOUBLE,
  term_types VARCHAR[], term_ids VARCHAR[], term_surfaces VARCHAR[]
);
