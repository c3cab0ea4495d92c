import { Rng, WeightedSampler } from '../data/generator/rng';
import { attachDatabase, openDatabase, readColumns } from '../platform/duckdb';
import { tf } from '../platform/tf';
import type { Tokenizer } from '../tagging/tokenizer';
import type { ItemUnitConfig, KeywordConfig } from './config';
import { itemInputs, timeCode, type ItemFeatures } from './itemFeatures';
import { buildItemUnitModel } from './itemUnit';
import { L2Normalize, WeightedBag } from './layers';
import { EmptyTrainingSetError, fromOptions, train, trainableVariables, type TrainOptions, type TrainResult } from './training';

/**
 * Keyword intent embedding: a dual-tower DSSM that maps search keywords into the item space.
 * Query tower: keyword tokens (+ the time of the search) → embeddings → MLP. Item tower: the
 * item-unit network, initialised from the pretrained one (transfer), frozen for the first epochs and
 * then fine-tuned. Positives: search → click pairs and title → item pairs. Loss: sampled softmax over
 * the batch's positives (in-batch negatives) plus random and popularity-drawn negatives.
 */

export interface TokenVocabulary {
  tokens: string[];
  oovBuckets: number;
}

/** Token index: 0 padding, 1..V vocabulary, V+1.. hashed out-of-vocabulary buckets. */
export function tokenIndex(vocab: TokenVocabulary, lookup: Map<string, number>, token: string): number {
  const known = lookup.get(token);
  if (known !== undefined) return known;
  let h = 2166136261;
  for (let i = 0; i < token.length; i++) h = Math.imul(h ^ token.charCodeAt(i), 16777619);
  return vocab.tokens.length + 1 + ((h >>> 0) % vocab.oovBuckets);
}

export function buildVocabulary(texts: string[][], minCount: number, oovBuckets: number): TokenVocabulary {
  const counts = new Map<string, number>();
  for (const toks of texts) for (const t of toks) counts.set(t, (counts.get(t) ?? 0) + 1);
  const tokens = [...counts.entries()]
    .filter(([, c]) => c >= minCount)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([t]) => t);
  return { tokens, oovBuckets };
}

export interface KeywordPairs {
  texts: string[][];
  items: Int32Array;
  days: Float32Array;
  isSearch: Uint8Array;
}

export interface HeldOutSearches {
  ids: string[];
  texts: string[][];
  days: Float32Array;
  clicked: Int32Array[];
}

export async function loadKeywordData(featuresDb: string, tokenizer: Tokenizer): Promise<{ pairs: KeywordPairs; heldOut: HeldOutSearches }> {
  const db = await openDatabase(':memory:');
  try {
    await attachDatabase(db.connection, featuresDb, 'feat');
    const p = await readColumns(db.connection, 'models/keyword_pairs');
    const e = await readColumns(db.connection, 'models/keyword_eval');
    return {
      pairs: {
        texts: (p.text ?? []).map((t) => tokenizer.tokenize(String(t))),
        items: Int32Array.from((p.item_idx ?? []) as number[]),
        days: Float32Array.from((p.day ?? []) as number[]),
        isSearch: Uint8Array.from((p.kind ?? []).map((k) => (k === 'search' ? 1 : 0))),
      },
      heldOut: {
        ids: (e.search_id ?? []).map(String),
        texts: (e.query ?? []).map((q) => tokenizer.tokenize(String(q))),
        days: Float32Array.from((e.day ?? []) as number[]),
        clicked: (e.clicked ?? []).map((c) => Int32Array.from(c as number[])),
      },
    };
  } finally {
    db.close();
  }
}

export function buildQueryTower(cfg: KeywordConfig, vocab: TokenVocabulary, timePeriods: readonly number[]): tf.LayersModel {
  const s = cfg.seed + 100;
  const ids = tf.input({ shape: [cfg.maxTokens], dtype: 'int32', name: 'token_ids' });
  const weights = tf.input({ shape: [cfg.maxTokens], name: 'token_weights' });
  const emb = tf.layers
    .embedding({
      name: 'token_embedding',
      inputDim: vocab.tokens.length + 1 + vocab.oovBuckets,
      outputDim: cfg.tokenEmbeddingDim,
      embeddingsInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.05, seed: s }),
    })
    .apply(ids) as tf.SymbolicTensor;
  const bag = new WeightedBag({ name: 'token_bag' }).apply([emb, weights]) as tf.SymbolicTensor;
  const inputs = [ids, weights];
  let features = bag;
  if (timePeriods.length > 0) {
    // The time of the search: what is on sale now is what the searcher can click.
    const time = tf.input({ shape: [2 * timePeriods.length], name: 'search_time' });
    inputs.push(time);
    features = tf.layers.concatenate({ name: 'query_features' }).apply([bag, time]) as tf.SymbolicTensor;
  }
  const hidden = tf.layers.dense({ name: 'query_hidden', units: cfg.hiddenUnits, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: s + 1 }) }).apply(features) as tf.SymbolicTensor;
  const out = tf.layers.dense({ name: 'query_projection', units: cfg.dim, kernelInitializer: tf.initializers.glorotUniform({ seed: s + 2 }) }).apply(hidden) as tf.SymbolicTensor;
  const norm = new L2Normalize({ name: 'query_vector' }).apply(out) as tf.SymbolicTensor;
  return tf.model({ name: 'query_tower', inputs, outputs: norm });
}

export function queryInputs(
  cfg: KeywordConfig,
  vocab: TokenVocabulary,
  lookup: Map<string, number>,
  texts: string[][],
  days: ArrayLike<number>,
  rows: ArrayLike<number>,
  timePeriods: readonly number[],
): tf.Tensor[] {
  const b = rows.length;
  const t = cfg.maxTokens;
  const ids = new Int32Array(b * t);
  const ws = new Float32Array(b * t);
  const codes = new Float32Array(b * 2 * timePeriods.length);
  for (let r = 0; r < b; r++) {
    const i = rows[r] as number;
    const toks = (texts[i] ?? []).slice(0, t);
    toks.forEach((tok, k) => {
      ids[r * t + k] = tokenIndex(vocab, lookup, tok);
      ws[r * t + k] = 1;
    });
    if (timePeriods.length > 0) timeCode(days[i] as number, timePeriods, codes, r * 2 * timePeriods.length);
  }
  const inputs = [tf.tensor2d(ids, [b, t], 'int32'), tf.tensor2d(ws, [b, t])];
  if (timePeriods.length > 0) inputs.push(tf.tensor2d(codes, [b, 2 * timePeriods.length]));
  return inputs;
}

interface KwBatch {
  query: tf.Tensor[];
  items: tf.Tensor[];
  /** Column of each row's positive among the candidates. */
  positive: tf.Tensor1D;
  /** Candidates slot per column (into the distinct items the tower ran on). */
  columns: tf.Tensor1D;
  /** 1 where a column holds the row's own positive item but is not its positive column. */
  duplicate: tf.Tensor2D;
}

export interface KeywordModel {
  query: tf.LayersModel;
  item: tf.LayersModel;
  vocab: TokenVocabulary;
  result: TrainResult;
}

/**
 * Trains the DSSM. With `cfg.transfer`, the item tower starts from `pretrained` (the item-unit
 * network) and stays frozen for `cfg.frozenEpochs`; without it the tower starts from scratch.
 */
export async function trainKeywordDssm(
  cfg: KeywordConfig,
  itemCfg: ItemUnitConfig,
  f: ItemFeatures,
  pairs: KeywordPairs,
  popularity: Float64Array,
  pretrained: tf.LayersModel | undefined,
  opts: TrainOptions & { name?: string } = {},
): Promise<KeywordModel> {
  const name = opts.name ?? (cfg.transfer ? 'keyword_dssm' : 'keyword_dssm_no_transfer');
  if (pairs.items.length === 0) throw new EmptyTrainingSetError(name, 'no search → click or title → item pairs in the training period');
  // Search pairs are scarce; titles are many. Each epoch uses every search pair and titlePairRatio × as many title pairs.
  const searchRows = Array.from(pairs.isSearch.keys()).filter((i) => pairs.isSearch[i] === 1);
  const titleRows = Array.from(pairs.isSearch.keys()).filter((i) => pairs.isSearch[i] === 0);
  const titleTake = searchRows.length > 0 ? Math.min(titleRows.length, Math.round(searchRows.length * cfg.titlePairRatio)) : titleRows.length;
  const sampleTitles = new Rng(cfg.seed, 77).sample(titleRows, titleTake);
  const rowsUsed = Int32Array.from([...searchRows, ...sampleTitles]);

  const vocab = buildVocabulary(Array.from(rowsUsed, (r) => pairs.texts[r] ?? []), cfg.minTokenCount, cfg.oovBuckets);
  const lookup = new Map(vocab.tokens.map((t, i) => [t, i + 1]));
  const queryTower = buildQueryTower(cfg, vocab, itemCfg.timePeriods);
  const itemTower = buildItemUnitModel({ ...itemCfg, seed: itemCfg.seed + 1000 }, f);
  if (cfg.transfer) {
    if (!pretrained) throw new Error(`${name}: transfer is on but no pretrained item-unit network was given`);
    itemTower.setWeights(pretrained.getWeights());
  }
  // Query variables first: the optimizer keeps its state by position, and the item tower joins later.
  const queryVars = trainableVariables(queryTower);
  const allVars = [...queryVars, ...trainableVariables(itemTower)];
  const frozenUntil = cfg.transfer ? cfg.frozenEpochs : 0;
  const items = Array.from({ length: f.n }, (_, i) => i);
  const popular = items.filter((i) => (popularity[i] as number) > 0);
  const popSampler = popular.length > 0 ? new WeightedSampler(popular, popular.map((i) => Math.pow(popularity[i] as number, cfg.negatives.popularityPower))) : undefined;
  const optimizer = tf.train.adam(cfg.learningRate);

  let result: TrainResult;
  try {
    result = await train<KwBatch>({
      name,
      examples: rowsUsed.length,
      epochs: cfg.epochs,
      batchSize: cfg.batchSize,
      seed: cfg.seed,
      optimizer,
      models: [queryTower, itemTower],
      variables: (epoch) => (epoch <= frozenUntil ? queryVars : allVars),
      batch: (rows, epoch, step) => {
        const rng = new Rng(cfg.seed, 900_000 + epoch * 100_000 + step);
        const ex = Array.from(rows, (r) => rowsUsed[r] as number);
        const pos = ex.map((r) => pairs.items[r] as number);
        // Candidate columns: the batch's positives first, then the shared sampled negatives.
        const cand: number[] = pos.slice();
        for (let k = 0; k < cfg.negatives.random; k++) cand.push(rng.int(f.n));
        for (let k = 0; k < cfg.negatives.popular && popSampler; k++) cand.push(popSampler.draw(rng));
        // Distinct items for the tower; columns point into them.
        const slot = new Map<number, number>();
        const distinct: number[] = [];
        const columns = cand.map((it) => {
          let s = slot.get(it);
          if (s === undefined) {
            s = distinct.length;
            slot.set(it, s);
            distinct.push(it);
          }
          return s;
        });
        const positiveCol = ex.map((_, r) => r); // positives are the first |rows| columns
        const dup = new Float32Array(ex.length * cand.length);
        for (let r = 0; r < ex.length; r++) {
          for (let c = 0; c < cand.length; c++) {
            // Mask a column that is the row's own item again, and — without in-batch negatives — the other rows' positives.
            const otherPositive = c < ex.length && c !== r;
            if ((c !== r && cand[c] === pos[r]) || (otherPositive && !cfg.negatives.inBatch)) dup[r * cand.length + c] = 1;
          }
        }
        return {
          query: queryInputs(cfg, vocab, lookup, pairs.texts, pairs.days, ex, itemCfg.timePeriods),
          items: itemInputs(f, Int32Array.from(distinct), itemCfg.timePeriods),
          positive: tf.tensor1d(positiveCol, 'int32'),
          columns: tf.tensor1d(columns, 'int32'),
          duplicate: tf.tensor2d(dup, [ex.length, cand.length]),
        };
      },
      loss: (b) => {
        const q = queryTower.apply(b.query, { training: true }) as tf.Tensor2D;
        const iv = tf.gather(itemTower.apply(b.items, { training: true }) as tf.Tensor2D, b.columns);
        const logits = tf.sub(tf.mul(tf.matMul(q, iv, false, true), cfg.logitScale), tf.mul(b.duplicate, 1e9));
        const labels = tf.oneHot(b.positive, iv.shape[0]).toFloat();
        return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
      },
      disposeBatch: (b) => {
        [...b.query, ...b.items, b.positive, b.columns, b.duplicate].forEach((t) => t.dispose());
      },
      ...fromOptions(opts),
    });
  } catch (err) {
    // A cancelled or failed training leaves nothing behind in a long-lived worker.
    queryTower.dispose();
    itemTower.dispose();
    throw err;
  } finally {
    optimizer.dispose();
  }
  return { query: queryTower, item: itemTower, vocab, result };
}

/** Query vectors (rows × dim) for held-out searches. */
export function computeQueryVectors(model: KeywordModel, cfg: KeywordConfig, timePeriods: readonly number[], texts: string[][], days: Float32Array): Float32Array {
  const lookup = new Map(model.vocab.tokens.map((t, i) => [t, i + 1]));
  const dim = model.query.outputs[0]?.shape[1] as number;
  const out = new Float32Array(texts.length * dim);
  const batch = 2048;
  for (let from = 0; from < texts.length; from += batch) {
    const rows = Array.from({ length: Math.min(batch, texts.length - from) }, (_, i) => from + i);
    const inputs = queryInputs(cfg, model.vocab, lookup, texts, days, rows, timePeriods);
    const v = model.query.predict(inputs) as tf.Tensor;
    out.set(v.dataSync() as Float32Array, from * dim);
    v.dispose();
    inputs.forEach((t) => t.dispose());
  }
  return out;
}
