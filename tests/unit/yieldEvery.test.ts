import { evaluateSessions, type SessionCase, type SessionSet } from '../../evaluation/nextSession';
import type { Ranker } from '../../evaluation/rankers';
import { yieldEvery } from '../../platform/yieldEvery';

/**
 * A heartbeat is a timer: a long evaluation must let timers run even when every session of the
 * period falls on one day (no daily refresh that does I/O), or Temporal times the activity out.
 */

function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

test('evaluating one long day of sessions lets a timer fire', async () => {
  const items = 20;
  const cases: SessionCase[] = Array.from({ length: 150 }, (_, i) => ({
    caseNo: i,
    userIdx: i % 7,
    sessionKey: `s${i}`,
    startedAt: 1_000 + i,
    day: 0,
    history: Int32Array.of(i % items),
    targets: Int32Array.of((i + 1) % items),
  }));
  const set = {
    split: 'test',
    cases,
    sessions: cases.length,
    sessionsWithoutTargets: 0,
    clicks: { targets: cases.length, clickedBefore: 0, notOnSale: 0 },
    users: 7,
    period: { start: 1_000, end: 1_149 },
    listedAt: new Float64Array(items),
    endsAt: new Float64Array(items).fill(1e12),
  } as SessionSet;
  // 10 ms a session: 1.5 s of synchronous ranking within one day.
  const slow: Ranker = { method: 'slow', rank: (_c, ctx, n) => (busy(10), Array.from(ctx.candidates.slice(0, n))) };
  let ticks = 0;
  const timer = setInterval(() => ticks++, 100);
  try {
    const { metrics } = await evaluateSessions(set, [slow], slow, { categoryOf: () => 'c', vectors: new Float32Array(items * 2).fill(1), dim: 2 });
    expect(metrics[0]?.method).toBe('slow');
  } finally {
    clearInterval(timer);
  }
  expect(ticks).toBeGreaterThanOrEqual(1);
});

test('yieldEvery is due only after its interval and turns the event loop', async () => {
  const pause = yieldEvery(50);
  expect(pause.due()).toBe(false);
  busy(60);
  expect(pause.due()).toBe(true);
  let ran = false;
  setImmediate(() => (ran = true));
  await pause.turn();
  expect(ran).toBe(true);
  expect(pause.due()).toBe(false);
});
