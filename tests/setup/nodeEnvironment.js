// Jest runs each test file in its own VM context, whose Float32Array & co. differ from the ones
// native addons (tfjs-node, faiss-node, DuckDB) create. tfjs checks `instanceof Float32Array` when it
// serialises weights, so typed arrays made natively would be rejected. Sharing the host's typed-array
// constructors with the test context makes both sides agree.
const NodeEnvironment = require('jest-environment-node').TestEnvironment;

class CurioNodeEnvironment extends NodeEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of [
      'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array',
      'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
    ]) {
      this.global[name] = globalThis[name];
    }
  }
}

module.exports = CurioNodeEnvironment;
