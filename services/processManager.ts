import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { CurioError } from '../platform/errors';

/**
 * Starts, stops and reports on the long-running local processes Curio needs (Temporal dev server,
 * MLflow server, workers). Each runs detached with its own log file and pid file so it outlives the
 * command that started it, and a failure names the service, its port and its log.
 */

export interface PortSpec {
  port: number;
  label: string;
  /** The environment variable that moves this port, named in "port in use" errors. */
  envVar: string;
}

export interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env?: Record<string, string>;
  ports: PortSpec[];
  /** An HTTP URL that answers 2xx once the service is usable. */
  readyUrl?: string;
  /** A file the process writes once it is usable (for services without a port). */
  readyFile?: string;
  logFile: string;
  pidFile: string;
  startTimeoutMs: number;
  /** What to run when `command` does not exist. */
  installHint: string;
}

export class ServiceError extends CurioError {
  constructor(message: string) {
    super(message, { type: 'ServiceError', retryable: true });
  }
}

export type ServiceState = 'running' | 'starting' | 'stopped';

export interface ServiceStatus {
  name: string;
  state: ServiceState;
  pid?: number;
  ports: { port: number; label: string; open: boolean }[];
  logFile: string;
}

export function isPortOpen(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(spec: ServiceSpec): number | undefined {
  if (!existsSync(spec.pidFile)) return undefined;
  const pid = Number(readFileSync(spec.pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && pidAlive(pid) ? pid : undefined;
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

async function isReady(spec: ServiceSpec): Promise<boolean> {
  for (const p of spec.ports) if (!(await isPortOpen(p.port))) return false;
  if (spec.readyUrl && !(await httpOk(spec.readyUrl))) return false;
  if (spec.readyFile && !existsSync(spec.readyFile)) return false;
  return true;
}

export async function serviceStatus(spec: ServiceSpec): Promise<ServiceStatus> {
  const pid = readPid(spec);
  const ports = await Promise.all(spec.ports.map(async (p) => ({ port: p.port, label: p.label, open: await isPortOpen(p.port) })));
  const state: ServiceState = pid === undefined ? 'stopped' : (await isReady(spec)) ? 'running' : 'starting';
  return { name: spec.name, state, ...(pid !== undefined ? { pid } : {}), ports, logFile: spec.logFile };
}

export function logTail(file: string, lines = 20): string {
  if (!existsSync(file)) return '(no log written)';
  const text = readFileSync(file, 'utf8').trimEnd().split('\n');
  return text.slice(-lines).join('\n');
}

function commandExists(command: string): boolean {
  if (command.includes('/')) return existsSync(command);
  return (process.env.PATH ?? '').split(':').some((dir) => existsSync(`${dir}/${command}`));
}

/** Starts a service unless it already runs; resolves once it is ready. Returns true if it was started. */
export async function startService(spec: ServiceSpec, log: (msg: string) => void = () => {}): Promise<boolean> {
  const existing = readPid(spec);
  if (existing !== undefined) {
    if (await waitReady(spec, existing, spec.startTimeoutMs)) {
      log(`${spec.name}: already running (pid ${existing})`);
      return false;
    }
    throw new ServiceError(
      `${spec.name}: process ${existing} is running but never became ready` +
        `${portsText(spec)}. See ${spec.logFile}:\n${logTail(spec.logFile)}`,
    );
  }
  if (!commandExists(spec.command)) {
    throw new ServiceError(`${spec.name}: ${spec.command} is not installed. ${spec.installHint}`);
  }
  for (const p of spec.ports) {
    if (await isPortOpen(p.port)) {
      throw new ServiceError(
        `${spec.name}: port ${p.port} (${p.label}) is already in use by a process Curio did not start. ` +
          `Stop that process or choose another port with ${p.envVar}=<port>. Log: ${spec.logFile}`,
      );
    }
  }

  mkdirSync(dirname(spec.logFile), { recursive: true });
  mkdirSync(dirname(spec.pidFile), { recursive: true });
  if (spec.readyFile) rmSync(spec.readyFile, { force: true });
  const fd = openSync(spec.logFile, 'a');
  writeFileSync(fd, `\n=== ${new Date().toISOString()} starting ${spec.command} ${spec.args.join(' ')}\n`);
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    detached: true, // own process group: survives this command, and stops as a group
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const pid = child.pid;
  if (pid === undefined) throw new ServiceError(`${spec.name}: could not start ${spec.command}. See ${spec.logFile}`);
  let exitCode: number | null | undefined;
  child.once('exit', (code, signal) => {
    exitCode = code ?? (signal ? -1 : null);
  });
  child.unref();
  writeFileSync(spec.pidFile, `${pid}\n`);
  log(`${spec.name}: starting (pid ${pid}, log ${spec.logFile})`);

  const deadline = Date.now() + spec.startTimeoutMs;
  while (Date.now() < deadline) {
    if (exitCode !== undefined || !pidAlive(pid)) {
      rmSync(spec.pidFile, { force: true });
      throw new ServiceError(
        `${spec.name}: exited during start-up${portsText(spec)}. Last lines of ${spec.logFile}:\n${logTail(spec.logFile)}`,
      );
    }
    if (await isReady(spec)) {
      log(`${spec.name}: ready${portsText(spec)}`);
      return true;
    }
    await sleep(300);
  }
  await stopPid(pid, 5000);
  rmSync(spec.pidFile, { force: true });
  throw new ServiceError(
    `${spec.name}: not ready after ${Math.round(spec.startTimeoutMs / 1000)} s${portsText(spec)}; stopped it. ` +
      `Last lines of ${spec.logFile}:\n${logTail(spec.logFile)}`,
  );
}

async function waitReady(spec: ServiceSpec, pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && pidAlive(pid)) {
    if (await isReady(spec)) return true;
    await sleep(300);
  }
  return false;
}

/** Stops a service (SIGTERM to its process group, SIGKILL after a grace period). */
export async function stopService(spec: ServiceSpec, log: (msg: string) => void = () => {}, graceMs = 15000): Promise<boolean> {
  const pid = readPid(spec);
  if (pid === undefined) {
    rmSync(spec.pidFile, { force: true });
    log(`${spec.name}: not running`);
    return false;
  }
  await stopPid(pid, graceMs);
  rmSync(spec.pidFile, { force: true });
  if (spec.readyFile) rmSync(spec.readyFile, { force: true });
  log(`${spec.name}: stopped (pid ${pid})`);
  return true;
}

async function stopPid(pid: number, graceMs: number): Promise<void> {
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signalGroup('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pidAlive(pid)) await sleep(200);
  if (pidAlive(pid)) signalGroup('SIGKILL');
  while (pidAlive(pid)) await sleep(100);
}

function portsText(spec: ServiceSpec): string {
  return spec.ports.length ? ` on ${spec.ports.map((p) => `${p.label} ${p.port}`).join(', ')}` : '';
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
