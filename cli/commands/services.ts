import { parseArgs } from 'node:util';
import { coreServices, workerServices } from '../../services/localServices';
import { serviceStatus, startService, stopService, type ServiceSpec } from '../../services/processManager';
import { loadSettings } from '../../platform/settings';
import { CliError } from '../cliError';
import type { Command } from '../command';

function pick(specs: ServiceSpec[], only: string | undefined): ServiceSpec[] {
  if (!only) return specs;
  const names = only.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !specs.some((s) => s.name === n));
  if (unknown.length) throw new CliError(`unknown service(s): ${unknown.join(', ')} (known: ${specs.map((s) => s.name).join(', ')})`);
  return specs.filter((s) => names.includes(s.name));
}

export async function printStatus(specs: ServiceSpec[]): Promise<boolean> {
  let allUp = true;
  for (const spec of specs) {
    const st = await serviceStatus(spec);
    const ports = st.ports.map((p) => `${p.label} :${p.port} ${p.open ? 'open' : 'closed'}`).join(', ');
    console.log(`${st.name.padEnd(16)} ${st.state.padEnd(8)} ${st.pid ? `pid ${st.pid}`.padEnd(10) : ''.padEnd(10)} ${ports}  log: ${st.logFile}`);
    if (st.state !== 'running') allUp = false;
  }
  return allUp;
}

export function printUrls(): void {
  const s = loadSettings();
  console.log(`\nTemporal Web UI: ${s.temporalUiUrl}   (gRPC ${s.temporalAddress}, namespace ${s.temporalNamespace})`);
  console.log(`MLflow UI:       ${s.mlflowTrackingUri}`);
}

export const servicesCommand: Command = {
  summary: 'up | down | status of the local Temporal dev server and MLflow server',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { only: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    const action = positionals[0];
    if (values.help || !action) {
      console.log('usage: curio services up|down|status [--only temporal,mlflow]');
      return;
    }
    const specs = pick(coreServices(), values.only);
    const log = (m: string) => console.log(m);
    switch (action) {
      case 'up':
        for (const spec of specs) await startService(spec, log);
        printUrls();
        return;
      case 'down':
        // Workers first: they would otherwise retry against a server that is going away.
        if (!values.only) for (const w of workerServices({ including: 'started' })) await stopService(w, log);
        for (const spec of [...specs].reverse()) await stopService(spec, log);
        return;
      case 'status': {
        const up = await printStatus([...specs, ...(values.only ? [] : workerServices())].filter(Boolean));
        printUrls();
        if (!up) process.exitCode = 3;
        return;
      }
      default:
        throw new CliError(`unknown action '${action}' (up, down, status)`);
    }
  },
};
