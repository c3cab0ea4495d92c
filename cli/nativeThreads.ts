/**
 * The native libraries' thread counts, set before any of them loads: libgomp (Faiss's OpenMP) and
 * OpenBLAS read them once, when loaded. `curio serve` answers many small searches on an event loop
 * that is itself one of the cores: OpenMP's fork/join over two threads made 3 queries cost 4 ms
 * instead of 1.7 ms with a core busy elsewhere, so the service runs them single-threaded (and gains
 * by batching concurrent requests instead, serve/batcher.ts). A value set in the environment wins.
 * Imported first by cli/main.ts; other commands keep the libraries' defaults (all cores).
 */
if (process.argv[2] === 'serve') {
  process.env.OMP_NUM_THREADS ??= '1';
  process.env.OPENBLAS_NUM_THREADS ??= '1';
}

export {};
