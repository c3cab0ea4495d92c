import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '../platform/paths';
import { pinnedVersions } from '../platform/versions';

/**
 * No Docker engine runs where this suite runs, so the production compose file is checked for its
 * structure: the services, images, ports, volumes, health checks and start-up order it promises.
 */
interface ComposeService {
  image?: string;
  build?: string | { context: string; args?: Record<string, string> };
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  command?: string[];
  deploy?: { replicas?: number; resources?: { limits?: { cpus?: string } } };
}

const compose = parse(readFileSync(join(projectRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};
const svc = (name: string): ComposeService => {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service '${name}'`);
  return s;
};

describe('docker-compose.yml', () => {
  it('declares every service of the deployment', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'mlflow', 'mlflow-db', 'temporal', 'temporal-admin-tools', 'temporal-create-namespace',
        'temporal-db', 'temporal-ui', 'worker-pipeline', 'worker-training', 'recall-api',
      ].sort(),
    );
  });

  it('runs Temporal on PostgreSQL with the schema set up by admin-tools first', () => {
    expect(svc('temporal').image).toMatch(/^temporalio\/server:\d+\.\d+\.\d+$/);
    expect(svc('temporal-admin-tools').image).toMatch(/^temporalio\/admin-tools:/);
    expect(svc('temporal').environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'temporal-db' });
    expect(svc('temporal-admin-tools').depends_on).toEqual({ 'temporal-db': { condition: 'service_healthy' } });
    expect(svc('temporal').depends_on).toEqual({ 'temporal-admin-tools': { condition: 'service_completed_successfully' } });
    expect(svc('temporal').ports).toContain('7233:7233');
    expect(svc('temporal-ui').image).toMatch(/^temporalio\/ui:/);
    expect(svc('temporal-ui').ports).toContain('8080:8080');
    // The scripts the admin-tools containers run are in the repository.
    for (const name of ['temporal-admin-tools', 'temporal-create-namespace']) {
      const script = svc(name).command?.[0] ?? '';
      expect(existsSync(join(projectRoot, script.replace('/curio-deploy', 'deploy/temporal')))).toBe(true);
    }
  });

  it('runs MLflow on PostgreSQL with proxied artifacts on a named volume, at the pinned version', () => {
    const mlflow = svc('mlflow');
    expect(mlflow.command).toEqual(expect.arrayContaining(['server', '--artifacts-destination', '/mlartifacts']));
    const backend = mlflow.command?.[mlflow.command.indexOf('--backend-store-uri') + 1];
    expect(backend).toMatch(/^postgresql:\/\/mlflow:.*@mlflow-db:5432\/mlflow$/);
    expect(mlflow.volumes).toContain('mlflow-artifacts:/mlartifacts');
    expect(mlflow.ports).toContain('5000:5000');
    expect(mlflow.depends_on).toEqual({ 'mlflow-db': { condition: 'service_healthy' } });
    const build = mlflow.build as { context: string; args: Record<string, string> };
    expect(build.args.MLFLOW_VERSION).toBe(pinnedVersions().MLFLOW_VERSION);
    expect(existsSync(join(projectRoot, build.context, 'Dockerfile'))).toBe(true);
  });

  it('builds the workers from the Dockerfile, on their own queues, scalable, after their dependencies', () => {
    expect(svc('worker-pipeline').build).toBe('.');
    expect(existsSync(join(projectRoot, 'Dockerfile'))).toBe(true);
    expect(svc('worker-training').image).toBe(svc('worker-pipeline').image);
    expect(svc('worker-pipeline').command).toEqual(['node', 'dist/workers/pipelineWorker.js']);
    expect(svc('worker-training').command).toEqual(['node', 'dist/workers/trainingWorker.js']);
    for (const name of ['worker-pipeline', 'worker-training']) {
      const w = svc(name);
      expect(w.deploy?.replicas).toBeGreaterThanOrEqual(1);
      expect(w.environment).toMatchObject({ TEMPORAL_ADDRESS: 'temporal:7233', MLFLOW_TRACKING_URI: 'http://mlflow:5000' });
      expect(w.depends_on?.temporal).toEqual({ condition: 'service_healthy' });
      expect(w.depends_on?.mlflow).toEqual({ condition: 'service_healthy' });
      expect(w.volumes).toContain('curio-data:/data');
      expect(w.healthcheck).toBeDefined();
    }
  });

  it('runs several training workers, one training process each, with TensorFlow threads matching its CPU limit', () => {
    const t = svc('worker-training');
    expect(t.deploy?.replicas).toBeGreaterThanOrEqual(2);
    const cpus = t.deploy?.resources?.limits?.cpus;
    expect(cpus).toBeDefined();
    expect(t.environment).toMatchObject({ CURIO_TRAINING_WORKERS: '1', TF_NUM_INTRAOP_THREADS: cpus, TF_NUM_INTEROP_THREADS: cpus, OMP_NUM_THREADS: cpus });
  });

  it('gives every stateful service a named volume and every long-running service a health check', () => {
    expect(Object.keys(compose.volumes).sort()).toEqual(['curio-data', 'mlflow-artifacts', 'mlflow-db-data', 'temporal-db-data']);
    for (const [name, s] of Object.entries(compose.services)) {
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0] ?? '';
        if (!source.startsWith('./')) expect(compose.volumes).toHaveProperty(source);
      }
      const oneShot = name === 'temporal-admin-tools' || name === 'temporal-create-namespace' || name === 'temporal-ui';
      if (!oneShot) expect({ name, healthcheck: Boolean(s.healthcheck) }).toEqual({ name, healthcheck: true });
    }
  });

  it('serves the champion with curio serve from the worker image, on every interface inside the container, scalable', () => {
    const api = svc('recall-api');
    expect(api.image).toBe(svc('worker-pipeline').image);
    expect(api.command?.slice(0, 3)).toEqual(['node', 'dist/cli/main.js', 'serve']);
    expect(api.command?.join(' ')).toContain('--host 0.0.0.0');
    expect(api.environment).toMatchObject({ MLFLOW_TRACKING_URI: 'http://mlflow:5000' });
    expect(Object.keys(api.depends_on ?? {})).toContain('mlflow');
    // Replicas cannot share a host port: the API is exposed to the network, not published.
    expect(api.ports).toBeUndefined();
    expect(api.deploy?.replicas).toBeGreaterThanOrEqual(1);
  });

  it('names only services that exist in depends_on', () => {
    for (const s of Object.values(compose.services)) {
      for (const dep of Object.keys(s.depends_on ?? {})) expect(compose.services).toHaveProperty([dep]);
    }
  });
});
