import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { mlflowSpec, temporalSpec } from '../services/localServices';
import { ServiceError, serviceStatus, startService, stopService, type ServiceSpec } from '../services/processManager';
import { loadSettings } from '../platform/settings';
import { freePort } from '../platform/freePort';

/** The local service manager against the real binaries: failures name service, port and log. */
describe('local services', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'curio-services-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a port already in use, naming the service, the port and the log file', async () => {
    const port = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
    try {
      const spec = mlflowSpec({ ...loadSettings(), mlflowPort: port }, dir);
      const err = await startService(spec).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ServiceError);
      const msg = (err as Error).message;
      expect(msg).toContain('mlflow');
      expect(msg).toContain(`port ${port}`);
      expect(msg).toContain('CURIO_MLFLOW_PORT');
      expect(msg).toContain(spec.logFile);
      expect((await serviceStatus(spec)).state).toBe('stopped');
    } finally {
      blocker.close();
    }
  });

  it('reports a missing binary with the command that installs it', async () => {
    const spec: ServiceSpec = { ...mlflowSpec(loadSettings(), dir), command: join(dir, 'no-such-mlflow') };
    await expect(startService(spec)).rejects.toThrow(/mlflow: .*no-such-mlflow is not installed\. Run `make install`/);
  });

  it('reports a service that dies during start-up with the tail of its log', async () => {
    const port = await freePort();
    const spec: ServiceSpec = {
      name: 'doomed',
      command: '/bin/sh',
      args: ['-c', 'echo "fatal: cannot open database"; exit 3'],
      cwd: dir,
      ports: [{ port, label: 'HTTP', envVar: 'DOOMED_PORT' }],
      logFile: join(dir, 'doomed.log'),
      pidFile: join(dir, 'doomed.pid'),
      startTimeoutMs: 10_000,
      installHint: '',
    };
    const err = (await startService(spec).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain('doomed: exited during start-up on HTTP ' + port);
    expect(err.message).toContain('fatal: cannot open database');
    expect(err.message).toContain(spec.logFile);
  });

  it('keeps Temporal workflow history across a restart of the dev server (--db-filename)', async () => {
    const settings = { ...loadSettings(), temporalPort: await freePort(), temporalUiPort: await freePort() };
    const spec = temporalSpec(settings, dir);
    const workflowId = `persisted-${Date.now()}`;
    await startService(spec);
    try {
      let connection = await Connection.connect({ address: `127.0.0.1:${settings.temporalPort}` });
      await new Client({ connection }).workflow.start('neverRuns', { taskQueue: 'nobody-polls', workflowId, args: [{}] });
      await connection.close();

      expect(await stopService(spec)).toBe(true);
      expect((await serviceStatus(spec)).state).toBe('stopped');
      expect(await startService(spec)).toBe(true);
      expect(await startService(spec)).toBe(false); // second start finds it running

      connection = await Connection.connect({ address: `127.0.0.1:${settings.temporalPort}` });
      const client = new Client({ connection });
      const desc = await client.workflow.getHandle(workflowId).describe();
      expect(desc.type).toBe('neverRuns');
      expect(desc.status.name).toBe('RUNNING');
      await client.workflow.getHandle(workflowId).terminate('test done');
      await connection.close();
    } finally {
      await stopService(spec);
    }
  });
});
