import { childRef, flattenParams, keyId, retrainRef, TrackingInputError } from '../../experiments/naming';

describe('naming', () => {
  it('builds deterministic keys and validates refs at the edge', () => {
    const p = retrainRef('retrain-2024-06-01', 'run-1');
    expect(p.key).toBe('retrain-2024-06-01/run-1');
    const s = childRef(p, 'sweep', 'lambda=0.1');
    expect(s.key).toBe('retrain-2024-06-01/run-1/sweep:lambda=0.1');
    expect(childRef(s, 'model', 'multi_interest').key).toBe('retrain-2024-06-01/run-1/sweep:lambda=0.1/model:multi_interest');
    expect(() => childRef(p, 'stage', 'a/b')).toThrow(TrackingInputError);
    expect(() => retrainRef('', 'x')).toThrow(TrackingInputError);
    expect(keyId(p.key)).toMatch(/^[0-9a-f]{40}$/);
    expect(flattenParams({ model: { dim: 64, towers: [128, 64] }, lr: 0.01, on: true })).toEqual({
      'model.dim': '64',
      'model.towers': '[128,64]',
      lr: '0.01',
      on: 'true',
    });
  });
});
