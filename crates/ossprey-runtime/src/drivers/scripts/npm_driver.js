// ossprey's npm execute-phase driver. It runs INSIDE the sandbox only, with the
// runtime's node, in the scratch project (cwd) whose node_modules holds the package.
//
//   node npm_driver.js execute NAME TIMEOUT_MS MAX_CALLS
//
// It lists the package's callable exports in a child process, then calls each one in
// its own child process with mock arguments (classes with `new`), killing a call at
// TIMEOUT_MS: node is single-threaded, so only a process boundary bounds a call that
// never returns. Children are `node --input-type=module -e`, whose imports resolve
// from the cwd exactly like a user's script, and `import()` loads CommonJS and ESM
// packages alike. Results are printed as `@@ossprey {json}` lines.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');

const MARK = '@@ossprey ';
const emit = (record) => process.stdout.write(MARK + JSON.stringify(record) + '\n');

const LIST = `
import { writeSync } from 'fs';
const ns = await import(process.argv[1]);
const out = []; const seen = new Set();
const add = (path, v) => { if (typeof v === 'function' && !seen.has(v)) { seen.add(v); out.push(path); } };
for (const k of Object.keys(ns)) if (k !== 'default') add(k, ns[k]);
const d = ns.default;
add('default', d);
if (d && (typeof d === 'object' || typeof d === 'function'))
  for (const k of Object.keys(d)) { try { add('default.' + k, d[k]); } catch (e) {} }
writeSync(3, JSON.stringify(out));
`;

const CALL = `
const [name, path] = process.argv.slice(1);
const mock = () => new Proxy(function () {}, {
  get: (t, p) => p === 'then' ? undefined
    : p === Symbol.toPrimitive ? (hint) => (hint === 'number' ? 0 : 'ossprey')
    : p === Symbol.iterator ? function* () {}
    : mock(),
  apply: () => mock(),
  construct: () => mock(),
});
process.on('uncaughtException', (e) => console.log('[uncaught]', String(e)));
process.on('unhandledRejection', (e) => console.log('[unhandled rejection]', String(e)));
const ns = await import(name);
let owner = ns, target = ns;
for (const part of path.split('.')) { owner = target; target = target[part]; }
const args = Array.from({ length: target.length }, mock);
const isClass = /^class[\\s{]/.test(Function.prototype.toString.call(target));
const result = isClass ? new target(...args) : target.apply(owner, args);
if (result && typeof result.then === 'function') await result;
`;

function node(code, args, timeoutMs, stdio) {
  return spawnSync(process.execPath, ['--input-type=module', '-e', code, ...args], {
    cwd: process.cwd(), timeout: timeoutMs, killSignal: 'SIGKILL', stdio,
  });
}

function execute(name, timeoutMs, maxCalls) {
  const started = Date.now();
  const listed = node(LIST, [name], timeoutMs, ['ignore', 'inherit', 'inherit', 'pipe']);
  let exportsList = [];
  try {
    exportsList = JSON.parse(String(listed.output[3] || '[]'));
  } catch (e) {
    exportsList = [];
  }
  emit({ event: 'exports', name, exports: exportsList, status: listed.error ? 'timeout' : (listed.status === 0 ? 'ok' : 'error'), duration_ms: Date.now() - started });
  for (const path of exportsList.slice(0, maxCalls)) {
    const t0 = Date.now();
    const r = node(CALL, [name, path], timeoutMs, ['ignore', 'inherit', 'inherit']);
    const status = r.error || r.signal === 'SIGKILL' ? 'timeout' : (r.status === 0 ? 'ok' : 'error');
    emit({ event: 'call', target: path, status, returncode: r.status, duration_ms: Date.now() - t0 });
  }
  return 0;
}

const [mode, name, timeoutMs, maxCalls] = process.argv.slice(2);
if (mode === 'execute' && name) {
  process.exitCode = execute(name, Number(timeoutMs) || 10000, Number(maxCalls) || 50);
} else {
  fs.writeSync(2, 'usage: npm_driver.js execute NAME TIMEOUT_MS MAX_CALLS\n');
  process.exitCode = 2;
}
