import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset } from '../../data/loadDataset';
import { evaluateTagging, EVALUATED_TYPES } from '../../tagging/evaluateTagging';
import { describeTaggingReport, tagCatalogue } from '../../tagging/tagItems';
import type { Command } from '../command';

export const taggingEvalCommand: Command = {
  summary: "tag a synthetic dataset and report entity precision/recall per type against its ground truth",
  async run(args) {
    const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
    const dir = positionals[0];
    if (values.help || !dir) {
      console.log('usage: curio tagging-eval DIR   (DIR written by `curio generate`, with truth/)');
      return;
    }
    const work = mkdtempSync(join(tmpdir(), 'curio-tagging-eval-'));
    try {
      await loadDataset({ dir, out: join(work, 'dataset.duckdb') });
      const report = await tagCatalogue(join(work, 'dataset.duckdb'), join(work, 'tags.duckdb'));
      console.log(`${report.items} titles, ${report.tags} tags (${Object.entries(report.tagsBySource).map(([k, v]) => `${k} ${v}`).join(', ')})`);
      console.log(`entities + tokens at ${report.titlesPerSecond.toFixed(0)} titles/s; tagging stage ${report.seconds.toFixed(1)} s`);
      for (const line of describeTaggingReport(report)) console.log(line);
      console.log('');
      const ev = await evaluateTagging(join(work, 'tags.duckdb'), dir);
      console.log('type          precision  recall   f1      tp      fp      fn   target');
      for (const s of ev.byType) {
        const target = (EVALUATED_TYPES as readonly string[]).includes(s.type) ? (s.precision >= 0.9 && s.recall >= 0.9 ? 'met' : 'MISSED') : '-';
        console.log(
          `${s.type.padEnd(13)} ${s.precision.toFixed(3).padStart(9)} ${s.recall.toFixed(3).padStart(7)} ${s.f1.toFixed(3).padStart(6)} ${String(s.tp).padStart(7)} ${String(s.fp).padStart(7)} ${String(s.fn).padStart(7)}   ${target}`,
        );
      }
      console.log('\ncategory against the generator\'s truth, by how it was decided (purity: each category read as its majority truth category):');
      for (const c of ev.categoryAccuracy) {
        console.log(`  ${c.source.padEnd(10)} ${String(c.items).padStart(7)} items  accuracy ${(100 * c.accuracy).toFixed(1).padStart(5)}%  purity ${(100 * c.purity).toFixed(1).padStart(5)}%`);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
};
