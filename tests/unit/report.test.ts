import { buildComparison, flattenRun, formatComparison, type RunSnapshot } from '../../experiments/compare';
import { renderReport } from '../../experiments/report';

function snap(runId: string, startTime: number, metrics: Record<string, number>, params: Record<string, string>, children: RunSnapshot[] = []): RunSnapshot {
  return { runId, experimentId: '1', name: runId, status: 'FINISHED', startTime, params, metrics, histories: {}, tags: {}, children };
}

describe('buildComparison and the report (no server)', () => {
  it('flattens children, orders runs by age, keeps only differing params, and escapes everything', () => {
    const old = snap('a'.repeat(32), 1, { recall_at_50: 0.1 }, { dim: '32', seed: '7' }, [
      { ...snap('c'.repeat(32), 2, { loss: 0.5, recall_at_50: 0.09 }, { lr: '0.01' }), name: 'item_unit', histories: { loss: [{ step: 0, value: 1 }, { step: 1, value: 0.5 }] } },
    ]);
    const neu = snap('b'.repeat(32), 5, { recall_at_50: 0.12, ctr_lift: 0.2, ctr_lift_ci_low: 0.1, ctr_lift_ci_high: 0.3 }, { dim: '64', seed: '7' });
    const c = buildComparison([flattenRun(neu, 'B <new>'), flattenRun(old, 'A')]);
    expect(c.runs.map((r) => r.label)).toEqual(['A', 'B <new>']);
    expect(c.metricRows.find((r) => r.name === 'item_unit/recall_at_50')?.values).toEqual([0.09, undefined]);
    expect(c.paramRows).toEqual([
      { name: 'dim', values: ['32', '64'] },
      { name: 'item_unit/lr', values: ['0.01', undefined] },
    ]);
    expect(c.identicalParams).toBe(1);
    const text = formatComparison(c);
    expect(text).toMatch(/recall_at_50\s+0\.1\s+0\.12\s+\+0\.02\s+\+20\.0%/);
    const html = renderReport(c);
    expect(html).toContain('B &lt;new&gt;');
    expect(html).not.toContain('<new>');
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('ctr_lift with interval');
    expect(html).toContain('item_unit: loss');
  });
});
