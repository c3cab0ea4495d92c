// Preloaded (`node --require`) into a worker process by tests that must prove it never loads
// TensorFlow: every require of a tfjs package is appended to $CURIO_TF_TRIPWIRE with the chain of
// modules that led to it, so a failing test says which import to cut.
const Module = require('node:module');
const { appendFileSync } = require('node:fs');

const out = process.env.CURIO_TF_TRIPWIRE;
const load = Module._load;
Module._load = function tripwire(request, parent, isMain) {
  if (out && /^@tensorflow\/tfjs/.test(request)) {
    const chain = [];
    for (let m = parent; m && chain.length < 30; m = m.parent) chain.push(m.filename);
    appendFileSync(out, `${request}\n  required by ${chain.join('\n  required by ')}\n`);
  }
  return load.apply(this, [request, parent, isMain]);
};
