/**
 * Lets timers run during a long synchronous loop. An activity heartbeats from a timer, and awaiting a
 * promise that is already settled runs no timers: a loop that only awaits in-memory work starves the
 * heartbeat (at 500k lots one day of next-session evaluation ran past the 60 s heartbeat timeout).
 * Call `due()` each iteration and `await turn()` when it says so: one macrotask turn at most every `ms`.
 */
export function yieldEvery(ms = 1000): { due: () => boolean; turn: () => Promise<void> } {
  let last = Date.now();
  return {
    due: () => Date.now() - last >= ms,
    turn: () =>
      new Promise<void>((resolve) =>
        setImmediate(() => {
          last = Date.now();
          resolve();
        }),
      ),
  };
}
