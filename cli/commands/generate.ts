import { parseArgs } from 'node:util';
import { generateMarketplace } from '../../data/generator/generate';
import { isScaleName, SCALE_NAMES, SCALES } from '../../data/generator/scales';
import { CliError } from '../cliError';
import type { Command } from '../command';

export const generateCommand: Command = {
  summary: 'write a synthetic auction marketplace (items, events, searches + ground truth)',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        scale: { type: 'string', default: 'small' },
        seed: { type: 'string', default: '7' },
        out: { type: 'string' },
        lang: { type: 'string', default: 'zh' },
        force: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      const scales = SCALE_NAMES.map((s) => `${s} (${SCALES[s].items} items, ${SCALES[s].users} users)`).join(', ');
      console.log(`usage: curio generate --out DIR [--scale tiny|small|medium|large] [--seed N] [--lang zh|en|mixed] [--force]\n  scales: ${scales}`);
      return;
    }
    const scale = values.scale ?? 'small';
    if (!isScaleName(scale)) throw new CliError(`--scale must be one of ${SCALE_NAMES.join(', ')}, got '${scale}'`);
    const seed = Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0) throw new CliError(`--seed must be a non-negative integer, got '${values.seed}'`);
    const lang = values.lang ?? 'zh';
    if (lang !== 'zh' && lang !== 'en' && lang !== 'mixed') throw new CliError(`--lang must be zh, en or mixed, got '${lang}'`);
    if (!values.out) throw new CliError('--out DIR is required');
    const s = await generateMarketplace({
      scale,
      seed,
      lang,
      out: values.out,
      force: values.force ?? false,
      progress: (m) => console.log(`  ${m}`),
    });
    console.log(`wrote ${s.out}: ${s.items} items, ${s.users} users, ${s.events} events, ${s.searches} searches in ${s.seconds.toFixed(1)} s`);
    console.log(`  events by type: ${Object.entries(s.eventsByType).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  },
};
