-- Item-based collaborative filtering and popularity for the ComiRec protocol (evaluation/userEval.ts):
-- built from every click of the training users in every period, as ComiRec's baselines see the
-- training users' whole sequences. (The next-session protocol and the A/B recompute both daily from
-- all clicks before the day instead: sql/retrieval/item_cf_until.sql.)
-- Co-occurrence of items clicked by the same user, each user's contribution damped by
-- 1/log(1 + items clicked), normalised by cosine: sim(i, j) = c(i, j) / sqrt(n(i) n(j)).
-- Top $cf_top_k neighbours per item.
CREATE OR REPLACE TABLE item_popularity AS
WITH clicks AS (
  SELECT b.item_idx, count(*)::BIGINT AS n
  FROM behaviours b JOIN user_index u USING (user_idx)
  WHERE u.user_split = 'train'
  GROUP BY 1
)
SELECT i.item_idx, coalesce(c.n, 0)::BIGINT AS clicks
FROM item_index i LEFT JOIN clicks c USING (item_idx);

CREATE OR REPLACE TABLE item_cf AS
WITH ui AS (
  SELECT DISTINCT b.user_idx, b.item_idx
  FROM behaviours b JOIN user_index u USING (user_idx)
  WHERE u.user_split = 'train'
),
user_weight AS (SELECT user_idx, 1.0 / ln(1 + count(*)) AS w FROM ui GROUP BY 1),
n AS (SELECT item_idx, count(*)::DOUBLE AS n FROM ui GROUP BY 1),
co AS (
  SELECT a.item_idx AS i, b.item_idx AS j, sum(w.w) AS c
  FROM ui a JOIN ui b ON a.user_idx = b.user_idx AND a.item_idx <> b.item_idx
  JOIN user_weight w ON w.user_idx = a.user_idx
  GROUP BY 1, 2
)
SELECT i AS item_idx, j AS neighbor_idx, c AS co_weight, c / sqrt(ni.n * nj.n) AS score
FROM co JOIN n ni ON ni.item_idx = i JOIN n nj ON nj.item_idx = j
QUALIFY row_number() OVER (PARTITION BY i ORDER BY c / sqrt(ni.n * nj.n) DESC, j) <= $cf_top_k;
