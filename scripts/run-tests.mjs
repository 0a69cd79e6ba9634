// Finds and runs the test files (node --test does not expand globs on Node 20).
// Usage: node scripts/run-tests.mjs unit|integration|all [extra node --test args]
//
// Nothing here may hang CI: every test has a timeout (--test-timeout), and every integration file
// runs as its own process group with a wall-clock budget; a file over budget is killed with its
// whole group (its Skiff and kubectl included), counted as failed and named in the summary.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) find(path, out);
    else if (name.endsWith('.test.ts') || name.endsWith('.test.mjs')) out.push(path);
  }
  return out;
}

const kind = process.argv[2] ?? 'all';
const extra = process.argv.slice(3);
const unit = kind === 'integration' ? [] : [...find('src'), ...find('bin')].sort();
const integration = kind === 'unit' ? [] : find('test').sort();
const minutes = (name, fallback) => Number(process.env[name] ?? fallback) * 60_000;
// Budgets: the slowest integration file takes about 3 minutes on a quiet 2-core machine, the unit
// tests about 2 (over 12 with five agents loading the machine). Node's --test-timeout also bounds
// each whole file (it runs as one test).
const testTimeoutMs = minutes('SKIFF_TEST_MINUTES', 7);
const fileBudgetMs = minutes('SKIFF_TEST_FILE_MINUTES', 8);
const unitBudgetMs = minutes('SKIFF_TEST_UNIT_MINUTES', 25);
// Past this, the remaining integration files are not started (and count as failed).
const totalBudgetMs = minutes('SKIFF_TEST_TOTAL_MINUTES', 40);

let current;

/** Runs node --test on files in its own process group; kills the group after budgetMs. */
function runGroup(files, concurrency, budgetMs) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--test',
        `--test-concurrency=${concurrency}`,
        `--test-timeout=${testTimeoutMs}`,
        ...extra,
        ...files,
      ],
      { stdio: 'inherit', detached: true },
    );
    current = child;
    let timedOut = false;
    const kill = (signal) => {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // The group is already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      console.error(`# run-tests: ${files.join(' ')} over its ${budgetMs / 1000} s budget: killed`);
      kill('SIGTERM');
      setTimeout(() => kill('SIGKILL'), 10_000).unref();
    }, budgetMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      current = undefined;
      // Whatever the file left running in its group (a Skiff it did not stop) goes too.
      kill('SIGKILL');
      resolve({ ok: !timedOut && code === 0, timedOut, code, signal, ms: Date.now() - started });
    });
  });
}

// Ctrl-C or CI's own stop: take the running group with us.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (current) process.kill(-current.pid, 'SIGTERM');
    process.exit(130);
  });
}
const summary = [];
let failed = false;
if (unit.length > 0) {
  // Two unit files at a time: with four, the node agent's crash-loop test timed out in 2 of 3 runs.
  const r = await runGroup(unit, 2, unitBudgetMs);
  summary.push(['unit tests', r]);
  failed ||= !r.ok;
}
/**
 * A killed file could not stop its clusters: `skiff down` each data dir (test/integration/harness.ts
 * makes them as skiff-it-* in the temp dir) made since it started, so its pods, network namespaces
 * and cgroups do not outlive it.
 */
function downClustersSince(startedMs) {
  for (const name of readdirSync(tmpdir())) {
    const dir = join(tmpdir(), name);
    if (!name.startsWith('skiff-it-') || statSync(dir).mtimeMs < startedMs - 1000) continue;
    console.error(`# run-tests: skiff down --data-dir ${dir}`);
    spawnSync(process.execPath, ['bin/skiff.js', 'down', '--data-dir', dir], {
      stdio: 'inherit',
      timeout: 60_000,
    });
    rmSync(dir, { recursive: true, force: true });
  }
}

const suiteStarted = Date.now();
for (const file of integration) {
  if (Date.now() - suiteStarted > totalBudgetMs) {
    summary.push([file, { ok: false, skipped: true, ms: 0 }]);
    failed = true;
    continue;
  }
  const startedMs = Date.now();
  const r = await runGroup([file], 1, fileBudgetMs);
  if (r.timedOut) downClustersSince(startedMs);
  summary.push([file, r]);
  failed ||= !r.ok;
}
console.log('# run-tests summary');
for (const [what, r] of summary) {
  const verdict = r.ok
    ? 'ok'
    : r.skipped
      ? 'NOT RUN (the suite was over its budget)'
      : r.timedOut
        ? 'TIMED OUT'
        : `FAILED (exit ${r.code ?? r.signal})`;
  console.log(`#   ${what}: ${verdict} in ${(r.ms / 1000).toFixed(1)} s`);
}
process.exit(failed ? 1 : 0);
