import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { toFailure } from '../../activities/stageRunner';
import { folderDigest, produceStage } from '../../stages/artifacts';
import { ArtifactStoreError, checkInputRefs, inputRefs, openArtifactStore, STORE_FILE } from '../../stages/artifactStore';

describe('the artifact store', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'curio-store-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('names itself once: every worker opening the same folder gets the same id, another folder another', () => {
    const a = openArtifactStore(join(root, 'shared'));
    expect(openArtifactStore(join(root, 'shared')).id).toBe(a.id);
    expect(openArtifactStore(join(root, 'elsewhere')).id).not.toBe(a.id);
  });

  it('refuses a folder it cannot write, and an identity file that is not one, non-retryably', () => {
    writeFileSync(join(root, 'a-file'), 'x');
    expect(() => openArtifactStore(join(root, 'a-file', 'artifacts'))).toThrow(/is not writable from/);
    writeFileSync(join(root, STORE_FILE), '{"format": "something else"}');
    expect(() => openArtifactStore(root)).toThrow(ArtifactStoreError);
    const failure = toFailure(new ArtifactStoreError('x')) as ApplicationFailure;
    expect({ type: failure.type, nonRetryable: failure.nonRetryable }).toEqual({ type: 'ArtifactStoreError', nonRetryable: true });
  });

  it('passes an input folder this host sees as published, and names the folder and the fix otherwise', async () => {
    const storeRoot = join(root, 'shared');
    const store = openArtifactStore(storeRoot);
    const { dir, manifest } = await produceStage(storeRoot, 'features', 'k1', async ({ out }) => {
      writeFileSync(join(out, 'features.duckdb'), 'rows');
      return {};
    });
    const ref = { stage: 'features', key: 'k1', dir, digest: folderDigest(manifest), reused: false, store: store.id, summary: {} };
    // Found however deep the activity input holds it; config values are not references.
    expect(inputRefs({ features: ref, config: { stage: 'x' }, trials: [[ref]] })).toHaveLength(2);
    expect(() => checkInputRefs({ features: ref, config: { lambda: 1 } }, store, storeRoot)).not.toThrow();
    // References from before store ids name none: the folder check alone.
    expect(() => checkInputRefs({ features: { ...ref, store: undefined } }, store, storeRoot)).not.toThrow();

    const other = openArtifactStore(join(root, 'other-host'));
    expect(() => checkInputRefs({ features: ref }, other, join(root, 'other-host'))).toThrow(/stage features's folder .* was written to artifact store .*, but this worker .* has store .*: every worker host must mount the same shared folder/);
    expect(() => checkInputRefs({ features: { ...ref, store: undefined, dir: join(root, 'nowhere') } }, store, storeRoot)).toThrow(/is not visible on .* \(no manifest.json there\)/);
    expect(() => checkInputRefs({ features: { ...ref, digest: 'f'.repeat(20) } }, store, storeRoot)).toThrow(/not the f+ its producer published/);
  });
});
