/**
 * The native libraries' thread counts, set before any of them loads: libgomp (Faiss's OpenMP),
 * OpenBLAS and TensorFlow read them once, when loaded. `curio serve` answers many small searches and
 * small forward passes on an event loop that is itself one of the cores: OpenMP's fork/join over two
 * threads made 3 queries cost 4 ms instead of 1.7 ms with a core busy elsewhere, and TensorFlow's
 * intra-op pool made the user model's forward pass for 16 requests 4.5 ms instead of 2.9 ms. So the
 * service runs them single-threaded (and gains by batching concurrent requests instead,
 * serve/batcher.ts). A value set in the environment wins.
 * Imported first by cli/main.ts; other commands keep the libraries' defaults (all cores).
 */
export const SERVE_THREADS = {
  OMP_NUM_THREADS: '1',
  OPENBLAS_NUM_THREADS: '1',
  TF_NUM_INTRAOP_THREADS: '1',
  TF_NUM_INTEROP_THREADS: '1',
} as const;

/** `env` with the service's thread counts where it sets none (bench:serve forks its service with this). */
export function withServeThreads(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const [name, value] of Object.entries(SERVE_THREADS)) out[name] ??= value;
  return out;
}

if (process.argv[2] === 'serve') Object.assign(process.env, withServeThreads(process.env));
