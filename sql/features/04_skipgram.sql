-- Skip-gram training pairs for item embeddings (train users, train period).
-- Positives: items clicked within $window positions of each other in one session, after word2vec-style
-- frequency subsampling (keep an occurrence of an item with frequency f with probability
-- min(1, sqrt(t/f) + t/f)). Negatives: $negatives per positive, drawn from unigram^$neg_power.
-- Random draws are seeded hashes, so the pairs are a pure function of the data and $seed.
CREATE OR REPLACE TABLE item_freq AS
SELECT b.item_idx, count(*)::BIGINT AS n
FROM behaviours b JOIN user_index u USING (user_idx)
WHERE u.user_split = 'train' AND b.period = 'train'
GROUP BY 1;

CREATE OR REPLACE TABLE skipgram_pairs AS
WITH total AS (SELECT sum(n)::DOUBLE AS t FROM item_freq),
kept AS (
  SELECT b.user_idx, b.session_key, b.item_idx, b.ts, b.seq_no
  FROM behaviours b
  JOIN user_index u USING (user_idx)
  JOIN item_freq f USING (item_idx)
  WHERE u.user_split = 'train' AND b.period = 'train'
    AND (hash('sub:' || $seed::VARCHAR || ':' || b.user_idx::VARCHAR || ':' || b.seq_no::VARCHAR) % 1000000)::DOUBLE / 1000000
        < least(1.0, sqrt($subsample_t / (f.n / (SELECT t FROM total))) + $subsample_t / (f.n / (SELECT t FROM total)))
),
positioned AS (
  SELECT *, row_number() OVER (PARTITION BY user_idx, session_key ORDER BY ts, item_idx) AS pos FROM kept
),
positives AS (
  SELECT a.item_idx AS center, b.item_idx AS context, a.user_idx, a.seq_no, b.seq_no AS ctx_seq
  FROM positioned a JOIN positioned b
    ON a.user_idx = b.user_idx AND a.session_key = b.session_key
   AND b.pos BETWEEN a.pos - $window AND a.pos + $window AND b.pos <> a.pos AND a.item_idx <> b.item_idx
),
neg_cdf AS (
  SELECT item_idx, sum(w) OVER (ORDER BY item_idx ROWS UNBOUNDED PRECEDING) - w AS lo
  FROM (SELECT item_idx, pow(n, $neg_power) / sum(pow(n, $neg_power)) OVER () AS w FROM item_freq)
),
draws AS (
  SELECT p.center, (hash('neg:' || $seed::VARCHAR || ':' || p.user_idx::VARCHAR || ':' || p.seq_no::VARCHAR || ':'
                         || p.ctx_seq::VARCHAR || ':' || k::VARCHAR) % 1000000007)::DOUBLE / 1000000007 AS r
  FROM positives p, range(1, $negatives + 1) AS t(k)
)
SELECT center, context, 1::TINYINT AS label FROM positives
UNION ALL
SELECT d.center, c.item_idx AS context, 0::TINYINT AS label
FROM draws d ASOF JOIN neg_cdf c ON d.r >= c.lo;
