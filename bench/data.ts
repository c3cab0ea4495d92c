/**
 * npm run bench:data [-- small medium]
 * Prints, per scale: generation time, load/validation time, feature-SQL time per stage, tagging
 * throughput, rows per second and peak RSS. Targets: small < 60 s for load + features + tagging
 * (and generation), medium < 10 min, on 2 cores. Then item-CF's recomputation over the whole
 * history (top 100 neighbours), its SQL specification and the TypeScript the pipeline runs side by
 * side, with their agreement.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const scales = process.argv.slice(2).length ? process.argv.slice(2) : ['small', 'medium'];
for (const scale of scales) {
  const t0 = Date.now();
  const out = execFileSync(process.execPath, [join(__dirname, 'dataScale.js'), scale], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = out.trim().split('\n').pop() ?? '{}';
  const r = JSON.parse(line) as Record<string, unknown> & { featureStageSeconds: Record<string, number> };
  const f = (x: unknown, d = 1) => Number(x).toFixed(d);
  console.log(`\n== data benchmark: ${scale} (${r.items} items, ${r.users} users, ${r.events} events) ==`);
  console.log(`generate                 ${f(r.generateSeconds)} s`);
  console.log(`load + validate          ${f(r.loadSeconds)} s   (${f(r.loadRowsPerSecond, 0)} rows/s)`);
  for (const [stage, s] of Object.entries(r.featureStageSeconds)) console.log(`feature SQL ${stage.padEnd(12)} ${f(s, 2)} s`);
  console.log(`feature SQL total        ${f(r.featureSeconds)} s   (${f(r.featureEventsPerSecond, 0)} events/s)`);
  console.log(`tagging                  ${f(r.taggingSeconds)} s   (${f(r.titlesPerSecond, 0)} titles/s for entities + tokens; ${r.tags} tags)`);
  console.log(`load + features + tagging ${f(r.pipelineSeconds)} s; with generation ${f(Number(r.pipelineSeconds) + Number(r.generateSeconds))} s`);
  console.log(`peak RSS                 ${f(r.peakRssMb, 0)} MB`);
  if (r.itemCfSqlError !== undefined) {
    console.log(`item-CF, all history     TypeScript ${f(r.itemCfTsSeconds, 2)} s (${r.itemCfTsItems} items); SQL specification failed: ${String(r.itemCfSqlError)}`);
  } else {
    console.log(
      `item-CF, all history     SQL ${f(r.itemCfSqlSeconds, 2)} s, TypeScript ${f(r.itemCfTsSeconds, 2)} s (${f(Number(r.itemCfSqlSeconds) / Number(r.itemCfTsSeconds), 2)}x); ` +
        `${r.itemCfSameIds} of ${r.itemCfItems} items with identical neighbour ids (TypeScript: ${r.itemCfTsItems} items), max score difference ${Number(r.itemCfMaxScoreDiff).toExponential(1)}`,
    );
  }
  console.log(`wall (incl. process start) ${f((Date.now() - t0) / 1000)} s`);
}
