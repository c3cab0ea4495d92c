import type { InterestModel } from '../retrieval/types';
import { computeInterests, vectorTable } from './multiInterest';
import type { Sequences } from './sequences';
import { loadModel } from './modelFiles';

/**
 * The trained multi-interest model behind the retrieval's InterestModel interface: item indices in,
 * K interest vectors out. The item vector table is built once and reused for every request.
 */
export async function trainedInterestModel(modelDir: string, trainedItemVectors: Float32Array, dim: number): Promise<InterestModel & { dispose(): void }> {
  const model = await loadModel(modelDir);
  const [, maxLong] = (model.inputs[0]?.shape ?? []) as number[];
  const [, maxShort] = (model.inputs[2]?.shape ?? []) as number[];
  if (!maxLong || !maxShort) throw new Error(`${modelDir} is not a multi-interest model (unexpected inputs)`);
  let itemVectors = trainedItemVectors;
  let table = vectorTable(itemVectors, dim);
  const pack = (xs: Int32Array, width: number) => {
    const out = new Int32Array(width).fill(-1);
    const tail = xs.subarray(Math.max(0, xs.length - width));
    out.set(tail, width - tail.length);
    return out;
  };
  return {
    dim,
    interests(longTerm: Int32Array, shortTerm: Int32Array): Float32Array[] {
      const seqs: Sequences = { count: 1, maxLong, maxShort, long: pack(longTerm, maxLong), short: pack(shortTerm, maxShort) };
      const { k, vectors } = computeInterests(model, itemVectors, dim, seqs, 1, table);
      return Array.from({ length: k }, (_, j) => vectors.slice(j * dim, (j + 1) * dim));
    },
    weightedInterests(longTerm: Int32Array, shortTerm: Int32Array) {
      const seqs: Sequences = { count: 1, maxLong, maxShort, long: pack(longTerm, maxLong), short: pack(shortTerm, maxShort) };
      const { k, vectors, strengths } = computeInterests(model, itemVectors, dim, seqs, 1, table, { strengths: true });
      return { vectors: Array.from({ length: k }, (_, j) => vectors.slice(j * dim, (j + 1) * dim)), weights: Array.from(strengths ?? new Float32Array(k).fill(1)) };
    },
    interestsMany(requests, weighted) {
      if (requests.length === 0) return [];
      const long = new Int32Array(requests.length * maxLong);
      const short = new Int32Array(requests.length * maxShort);
      requests.forEach((r, u) => {
        long.set(pack(r.longTerm, maxLong), u * maxLong);
        short.set(pack(r.shortTerm, maxShort), u * maxShort);
      });
      const seqs: Sequences = { count: requests.length, maxLong, maxShort, long, short };
      const { k, vectors, strengths } = computeInterests(model, itemVectors, dim, seqs, requests.length, table, { strengths: weighted });
      return requests.map((_, u) => ({
        vectors: Array.from({ length: k }, (_, j) => vectors.slice((u * k + j) * dim, (u * k + j + 1) * dim)),
        ...(weighted ? { weights: Array.from(strengths?.subarray(u * k, (u + 1) * k) ?? new Float32Array(k).fill(1)) } : {}),
      }));
    },
    withItemVectors(v: Float32Array) {
      const old = table;
      table = vectorTable(v, dim);
      itemVectors = v;
      old.dispose();
    },
    dispose() {
      table.dispose();
      model.dispose();
    },
  };
}
