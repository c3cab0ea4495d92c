/**
 * npm run bench:peer [-- --item-steps 150] [--user-steps 150] [--users 16384] [--threads N] [--skip-profile] [--keep]
 *
 * tfjs-node against a peer framework on the same work: Curio's two trainings and its evaluation
 * scoring, once with the project's own tfjs code and once with a PyTorch (CPU) reference of the very
 * same steps (bench/peer/reference.py), on one synthetic input set with the small marketplace's sizes
 * (20k items, 3,123 tags, 801 sellers), the same batches, sampled negatives and thread count.
 *   item tower    trainItemUnit: skip-gram pairs (1 positive : 5 unigram^0.75 negatives), batch 4,096,
 *                 the attribute tower once per distinct item of the batch, BCE on scaled cosines, Adam.
 *   user, joint   trainUserModel with the default configuration: dynamic routing (K = 4, 3 iterations)
 *                 over 50 long-term clicks, per-interest session attention over 10, hard selection gate,
 *                 1,024 shared popularity^0.75 negatives with log-Q correction, λ = 0.1 cosine metric
 *                 loss, batch 256, the item tower fine-tuned jointly.
 *   user, frozen  the same on the frozen item-vector table (how much of a step the tower costs).
 *   eval          computeInterests over many users, then the exact inner-product top-50 of every
 *                 interest over the catalogue (tfjs matMul + topk; and with Faiss, as the evaluation does).
 * The tfjs side runs in its own process (bench/peer/tfjs.ts) with TF_NUM_INTRAOP_THREADS = N (N defaults
 * to the number of cores), the reference with torch.set_num_threads(N). Both first run two steps from the
 * tfjs models' initial weights on the same batches and their losses are compared: the two sides do the
 * same arithmetic. Figures: examples (pairs, training examples or users) per second over the timed steps.
 * Target: tfjs at least 0.8× torch's examples/s on every stage. The reference needs the bench venv:
 * scripts/install/bench-venv.sh (CPU torch from PyPI into .venv-bench/).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { PeerSpec, StageResult, TfjsResult } from './peer/tfjs';

interface TorchStage {
  examples: number;
  seconds: number;
  examplesPerSecond: number;
  cores?: number;
  steps?: number;
  checkLosses?: number[];
  profile?: { atenCalls: number; selfMs: number; top: { name: string; calls: number; ms: number }[] };
}

interface TorchResult {
  torch: string;
  numpy: string;
  python: string;
  threads: number;
  interopThreads: number;
  cudaAvailable: boolean;
  parallel: string;
  stages: Record<string, TorchStage>;
  eval: { interests: TorchStage; scoring: TorchStage; searchSeconds: number; interestsMaxAbsDiff?: number; top50Overlap?: number } | null;
  microOps: Record<string, number>;
}

const TARGET = 0.8;

/** The repository root: the folder above this file with the package.json (from bench/ or dist/bench/). */
function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** Runs a command to its end; its stdout, the tail of its stderr, and its exit code. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? 1, stdout, stderr }));
  });
}

const lastJson = <T>(out: string): T => JSON.parse(out.trim().split('\n').pop() ?? '{}') as T;
const fmt = (x: number | undefined, digits = 0) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'item-steps': { type: 'string', default: '150' },
      'user-steps': { type: 'string', default: '150' },
      users: { type: 'string', default: '16384' },
      threads: { type: 'string', default: String(availableParallelism()) },
      'skip-profile': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      venv: { type: 'string' },
    },
  });
  const int = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} takes an integer >= ${min}, got ${v}`);
    return n;
  };
  const root = repoRoot();
  const spec: PeerSpec = {
    items: 20_000,
    tags: 3_123,
    sellers: 801,
    prices: 10,
    categories: 13,
    itemSteps: int('item-steps', values['item-steps'], 4),
    userSteps: int('user-steps', values['user-steps'], 4),
    users: int('users', values.users, 1024),
    threads: int('threads', values.threads, 1),
    seed: 7,
    profile: !values['skip-profile'],
  };
  const threads = String(spec.threads);
  const venv = resolve(values.venv ?? join(root, '.venv-bench'));
  const python = join(venv, 'bin', 'python');
  const haveVenv = existsSync(python);
  const dir = mkdtempSync(join(tmpdir(), 'curio-bench-peer-'));
  const started = performance.now();
  try {
    console.log(`bench:peer: ${spec.threads} thread(s) a side on ${availableParallelism()} core(s); item steps ${spec.itemSteps}, user steps ${spec.userSteps}, eval users ${spec.users}; data in ${dir}`);
    if (!haveVenv) console.log(`bench:peer: no bench venv at ${venv}: only the tfjs side will run (create it with \`bash scripts/install/bench-venv.sh\`)`);
    // TensorFlow reads its thread settings when it starts: they go in the tfjs process's environment.
    const tfEnv = { ...process.env, TF_NUM_INTRAOP_THREADS: threads, OMP_NUM_THREADS: threads };
    // How many threads loading TensorFlow adds to a bare Node process, with the same settings.
    const probe =
      "const fs=require('fs');const n=()=>fs.readdirSync('/proc/self/task').length;const a=n();const tf=require('@tensorflow/tfjs-node');" +
      'tf.matMul(tf.ones([256,256]),tf.ones([256,256])).dataSync();console.log(JSON.stringify({node:a,withTf:n()}))';
    const p = await run(process.execPath, ['-e', probe], { ...tfEnv, TF_CPP_MIN_LOG_LEVEL: '2', NODE_PATH: join(root, 'node_modules') });
    const threadProbe = p.code === 0 ? lastJson<{ node: number; withTf: number }>(p.stdout) : undefined;
    const t = await run(process.execPath, [join(__dirname, 'peer', 'tfjs.js'), dir, JSON.stringify(spec)], tfEnv);
    if (t.code !== 0) throw new Error(`the tfjs side failed (exit ${t.code}):\n${t.stderr.trim()}`);
    const tfjs = lastJson<TfjsResult>(t.stdout);

    let torch: TorchResult | undefined;
    let why = '';
    if (!haveVenv) {
      why = `the bench venv is missing (${python} not found): create it with \`bash scripts/install/bench-venv.sh\` (CPU torch and NumPy from PyPI into .venv-bench/), then run again`;
    } else {
      const args = [join(root, 'bench', 'peer', 'reference.py'), '--data', dir, '--threads', threads, ...(spec.profile ? ['--profile'] : [])];
      const r = await run(python, args, { ...process.env, OMP_NUM_THREADS: threads, MKL_NUM_THREADS: threads });
      if (r.code === 0) torch = lastJson<TorchResult>(r.stdout);
      else
        why = `the PyTorch reference failed (exit ${r.code}); if torch does not import, recreate the venv with \`bash scripts/install/bench-venv.sh\`:\n  ${r.stderr.trim().split('\n').slice(-6).join('\n  ')}`;
    }
    report(spec, tfjs, torch, threadProbe);
    if (why) {
      console.log(`\ntorch: not measured: ${why}`);
    }
    console.log(`\nbench:peer took ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    if (values.keep) console.log(`data kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

function report(spec: PeerSpec, tfjs: TfjsResult, torch: TorchResult | undefined, threadProbe: { node: number; withTf: number } | undefined): void {
  const ts = torch?.stages ?? {};
  const ev = torch?.eval;
  const rows: { label: string; batch: string; key: string; torch: TorchStage | undefined }[] = [
    { label: 'item tower (skip-gram pairs)', batch: '4096', key: 'item_tower', torch: ts.item_tower },
    { label: 'user model, joint tower (default)', batch: '256', key: 'user_joint', torch: ts.user_joint },
    { label: 'user model, frozen item vectors', batch: '256', key: 'user_frozen', torch: ts.user_frozen },
    { label: 'eval: interests (computeInterests)', batch: '1024', key: 'eval_interests', torch: ev?.interests },
    { label: 'eval: interests + IP top-50', batch: '1024', key: 'eval_scoring', torch: ev?.scoring },
    { label: 'eval: interests + top-50 by Faiss', batch: '1024', key: 'eval_scoring_faiss', torch: ev?.scoring },
  ];
  console.log(`\ntfjs: ${tfjs.tfVersion}, backend '${tfjs.backend}'; torch: ${torch ? `${torch.torch} (CPU, CUDA available: ${torch.cudaAvailable}), numpy ${torch.numpy}, Python ${torch.python}` : 'not run'}`);
  console.log('stage                                batch  steps   tfjs ex/s  torch ex/s  tfjs/torch  ms/step tfjs  torch  cores tfjs torch');
  for (const r of rows) {
    const a = tfjs.stages[r.key] as StageResult | undefined;
    if (!a) continue;
    const b = r.torch;
    const ratio = b ? a.examplesPerSecond / b.examplesPerSecond : undefined;
    const ms = (s: { seconds: number } | undefined, steps: number) => (s ? (1000 * s.seconds) / steps : undefined);
    const mark = ratio === undefined ? '' : ratio >= TARGET ? '  ok' : '  below target';
    console.log(
      `${r.label.padEnd(36)} ${r.batch.padStart(5)} ${String(a.steps).padStart(6)} ${fmt(a.examplesPerSecond).padStart(11)} ${fmt(b?.examplesPerSecond).padStart(11)} ${(ratio === undefined ? '—' : `${ratio.toFixed(2)}x`).padStart(11)} ${fmt(ms(a, a.steps), 1).padStart(13)} ${fmt(ms(b, a.steps), 1).padStart(6)} ${fmt(a.cores, 2).padStart(10)} ${fmt(b?.cores, 2).padStart(5)}${mark}`,
    );
  }
  console.log(`target: tfjs/torch >= ${TARGET}x on every stage (the Faiss row's torch figure is torch's own matmul + topk); cores: CPU time over wall time`);

  console.log('\nsame arithmetic? first two steps from the tfjs initial weights on the same batches (loss tfjs | torch):');
  for (const [name, losses] of Object.entries(tfjs.checkLosses)) {
    const ref = ts[name]?.checkLosses;
    const rel = ref ? Math.max(...losses.map((l, i) => Math.abs(l - (ref[i] ?? NaN)) / Math.max(1e-12, Math.abs(l)))) : undefined;
    console.log(`  ${name.padEnd(12)} ${losses.map((l) => l.toFixed(6)).join(', ')} | ${ref ? ref.map((l) => l.toFixed(6)).join(', ') : '—'}${rel === undefined ? '' : `  (max relative difference ${rel.toExponential(1)})`}`);
  }
  if (ev?.interestsMaxAbsDiff !== undefined) {
    console.log(`  eval         interests of 16 users: max |tfjs − torch| ${ev.interestsMaxAbsDiff.toExponential(1)}; top-50 lists of their interests: ${(100 * (ev.top50Overlap ?? 0)).toFixed(1)}% the same items`);
  }

  const th = tfjs.threads;
  const added = threadProbe ? `; loading tfjs-node takes a bare Node process from ${threadProbe.node} to ${threadProbe.withTf} threads` : '';
  console.log(`\nthreads: tfjs-node: TensorFlow's intra-op pool (its eager kernels) TF_NUM_INTRAOP_THREADS=${th.intraOp}, inter-op pool ${th.interOp}${added}; the bench's tfjs process had ${th.processThreads}`);
  if (torch) console.log(`         torch.set_num_threads(${spec.threads}): ${torch.threads} intra-op, ${torch.interopThreads} inter-op; ${torch.parallel}`);

  const unique = tfjs.uniqueItemsPerStep;
  console.log('\nsingle ops at the steps\' shapes (µs a call)          tfjs   torch  tfjs/torch time');
  for (const [op, us] of Object.entries(tfjs.microOps)) {
    const ref = torch?.microOps[op];
    console.log(`  ${op.padEnd(50)} ${us.toFixed(0).padStart(6)} ${fmt(ref).padStart(7)} ${ref ? `${(us / ref).toFixed(1)}x`.padStart(8) : ''}`);
  }
  console.log(`\nwhere a tfjs step goes (steady-state steps: tf.profile for the kernels, V8's sampling profiler for the main thread):`);
  console.log(`  JS batch building alone (itemInputs for the batch's distinct items): item tower ${fmt(tfjs.batchBuildMs.item_tower, 1)} ms (${unique.item_tower} items), user joint ${fmt(tfjs.batchBuildMs.user_joint, 1)} ms (${unique.user_joint} items)`);
  for (const [name, p] of Object.entries(tfjs.profiles)) {
    const top = p.top
      .slice(0, 5)
      .map((k) => `${k.name} ${k.calls}× ${((100 * k.ms) / Math.max(1e-9, p.kernelMs)).toFixed(0)}%`)
      .join(', ');
    const fixed = (p.kernels * (Object.values(tfjs.microOps)[0] ?? 0)) / 1000;
    const shares = Object.entries(p.mainThread)
      .filter(([, v]) => v >= 0.01)
      .map(([k, v]) => `${k} ${(100 * v).toFixed(0)}%`)
      .join(', ');
    const calls = p.topCalls
      .slice(0, 3)
      .map((k) => `${k.name} ${k.ms.toFixed(1)} ms`)
      .join('; ');
    console.log(`  ${name.padEnd(12)} ${p.stepMs.toFixed(1)} ms a step, ${p.kernels.toFixed(0)} kernels (≥ ${fixed.toFixed(1)} ms of fixed per-op cost); kernel time by kernel: ${top}`);
    console.log(`  ${''.padEnd(12)} heaviest calls: ${calls}`);
    console.log(`  ${''.padEnd(12)} main thread, profiled run (${p.mainThreadMs.toFixed(1)} ms busy a step): ${shares}`);
  }
  const torchProfiles = Object.entries(ts).filter(([, s]) => s.profile);
  if (torchProfiles.length) console.log('the same step in torch (torch.profiler, self times):');
  for (const [name, s] of torchProfiles) {
    const p = s.profile as NonNullable<TorchStage['profile']>;
    const top = p.top
      .slice(0, 5)
      .map((k) => `${k.name.replace('aten::', '')} ${k.calls}× ${k.ms.toFixed(1)} ms`)
      .join(', ');
    const stepMs = (1000 * s.seconds) / (s.steps ?? 1);
    console.log(`  ${name.padEnd(12)} ${p.atenCalls} aten calls (nested included), ${p.selfMs.toFixed(1)} ms of ${stepMs.toFixed(1)} ms a step; top: ${top}`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
