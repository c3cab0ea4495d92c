import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MlflowClient } from '../../experiments/mlflowClient';
import { DEFAULT_MODEL_NAME } from '../../experiments/registry';
import { dataDir } from '../../platform/paths';
import { loadSettings } from '../../platform/settings';
import { buildServer } from '../../serve/server';
import { RecallService } from '../../serve/service';
import { CliError } from '../cliError';
import type { Command } from '../command';

const USAGE = `usage: curio serve [options]
  Serves the recall API (docs in README, "Serving") on the bundle behind a registry alias, loaded
  through MLflow's artifact API (MLFLOW_TRACKING_URI). Checks the alias every --poll seconds and
  swaps a new version in without dropping a request. Lots listed since the retrain arrive by
  POST /v1/items or as JSON lines in the --watch folder.
  --model NAME       registered model (default ${DEFAULT_MODEL_NAME})
  --alias A          alias to serve (default champion)
  --version N        serve this version instead of an alias (no swaps)
  --host H           address to bind (default 127.0.0.1; 0.0.0.0 inside a container)
  --port P           port (default 8700)
  --token T          require "Authorization: Bearer T" on /v1 routes (default: CURIO_SERVE_TOKEN, else none)
  --max-k K          largest k a request may ask for (default 200)
  --max-batch N      most concurrent recall requests answered by one engine call (default 64; 1 = one at a time)
  --poll S           seconds between alias checks (default 30; 0: never)
  --watch DIR        a folder of *.jsonl lot files, read as they grow
  --cache DIR        where bundles are downloaded (default .data/serving)
  --clock C          the moment requests are answered at: wall (default), data-end (the bundle's
                     last logged moment: serving a historic or synthetic dataset, whose auctions
                     have all ended by the wall clock) or an ISO time`;

export const serveCommand: Command = {
  summary: 'serve the champion: the recall API, with fresh lots between retrains',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        model: { type: 'string', default: DEFAULT_MODEL_NAME },
        alias: { type: 'string', default: 'champion' },
        version: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '8700' },
        token: { type: 'string' },
        'max-k': { type: 'string', default: '200' },
        'max-batch': { type: 'string', default: '64' },
        poll: { type: 'string', default: '30' },
        watch: { type: 'string' },
        cache: { type: 'string', default: join(dataDir, 'serving') },
        clock: { type: 'string', default: 'wall' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return;
    }
    const int = (name: string, v: string, min: number) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) throw new CliError(`--${name} must be an integer >= ${min}, got '${v}'\n\n${USAGE}`);
      return n;
    };
    const port = int('port', values.port, 0);
    const maxK = int('max-k', values['max-k'], 1);
    const maxBatch = int('max-batch', values['max-batch'], 1);
    const poll = int('poll', values.poll, 0);
    if (values.version !== undefined && !/^[0-9]+$/.test(values.version)) throw new CliError(`--version must be a version number, got '${values.version}'`);
    const fixed = values.clock === 'wall' || values.clock === 'data-end' ? undefined : Date.parse(values.clock);
    if (fixed !== undefined && !Number.isFinite(fixed)) throw new CliError(`--clock must be wall, data-end or an ISO time, got '${values.clock}'`);
    const token = values.token ?? process.env.CURIO_SERVE_TOKEN;
    const client = new MlflowClient(loadSettings().mlflowTrackingUri, { retries: 2 });
    const service = new RecallService({
      client,
      ref: { model: values.model, ...(values.version ? { version: values.version } : { alias: values.alias }) },
      cacheDir: values.cache,
      pollSeconds: values.version ? 0 : poll,
      ...(values.watch ? { watchDir: values.watch } : {}),
      log: (l) => console.error(`curio serve: ${l}`),
    });
    const now = values.clock === 'wall' ? Date.now : values.clock === 'data-end' ? () => service.dataEnd() ?? Date.now() : () => fixed as number;
    const app = buildServer({ engine: service.engine, maxK, maxBatch, now, registry: service.registry, lots: (lots) => service.addLots(lots), ...(token ? { token } : {}) });
    await service.start();
    const address = await app.listen({ host: values.host, port });
    console.error(`curio serve: listening on ${address}${token ? ' (bearer token required)' : ''}`);
    // SIGTERM/SIGINT: stop taking connections, let requests in flight finish, then free the bundle.
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        console.error(`curio serve: ${signal}: finishing requests in flight`);
        void app
          .close()
          .then(() => service.stop())
          .then(resolve, resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  },
};
