import { parseArgs } from 'node:util';
import type { Command } from '../main';
import { printUrls } from './services';
import { smokeCommand } from './smoke';

export const demoCommand: Command = {
  summary: "run the main job against the running services and workers (what `make demo` runs)",
  async run(args) {
    const { values } = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      console.log('usage: curio demo   (needs `make services-up` and `curio workers up`)');
      return;
    }
    await smokeCommand.run([]);
    printUrls();
  },
};
