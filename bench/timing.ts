/** fn's result and the seconds it took (wall clock, high resolution): the benchmarks' one timer. */
export function seconds<T>(fn: () => T): [T, number] {
  const t0 = process.hrtime.bigint();
  const out = fn();
  return [out, Number(process.hrtime.bigint() - t0) / 1e9];
}
