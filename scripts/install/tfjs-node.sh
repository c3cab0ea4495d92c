#!/usr/bin/env bash
# @tensorflow/tfjs-node on the native TensorFlow backend. Its install script downloads libtensorflow
# from a host we do not use; we take the C library from the pinned PyPI TensorFlow CPU wheel instead
# (libtensorflow_cc.so.2 exports the TF_*/TFE_* C API) and build the N-API binding from source.
STEP=tfjs-node
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

PKG="$ROOT/node_modules/@tensorflow/tfjs-node"
TF_DIR="$CACHE_DIR/libtensorflow-$TENSORFLOW_WHEEL_VERSION"
KEY="$(cat "$STAMP_DIR/npm" 2>/dev/null)-$TENSORFLOW_WHEEL-$TENSORFLOW_WHEEL_VERSION"
binding() { ls "$PKG"/lib/napi-v*/tfjs_binding.node 2>/dev/null | head -n 1; }
if stamp_ok tfjs-node "$KEY" && [ -n "$(binding)" ] && [ -e "$PKG/deps/lib/libtensorflow_cc.so.2" ]; then
  say "tfjs-node native binding built"; exit 0
fi
stamp_clear tfjs-node

# 1. libtensorflow from the wheel, extracted once per machine into the user-level cache.
if [ ! -f "$TF_DIR/.complete" ]; then
  WHEELS="$CACHE_DIR/wheels"; mkdir -p "$WHEELS"
  WHL="$(ls "$WHEELS"/${TENSORFLOW_WHEEL//-/_}-$TENSORFLOW_WHEEL_VERSION-*.whl 2>/dev/null | head -n 1 || true)"
  if [ -z "$WHL" ]; then
    say "downloading $TENSORFLOW_WHEEL==$TENSORFLOW_WHEEL_VERSION wheel from PyPI (about 200 MB)"
    run_logged pip-download-tensorflow python3 -m pip download --no-deps --only-binary=:all: \
      --python-version "$TENSORFLOW_WHEEL_PYTHON" --platform manylinux2014_x86_64 \
      --platform manylinux_2_17_x86_64 -d "$WHEELS" "$TENSORFLOW_WHEEL==$TENSORFLOW_WHEEL_VERSION"
    WHL="$(ls "$WHEELS"/${TENSORFLOW_WHEEL//-/_}-$TENSORFLOW_WHEEL_VERSION-*.whl | head -n 1)"
  fi
  say "extracting libtensorflow from $(basename "$WHL")"
  TMP="$(mktemp -d "$CACHE_DIR/.libtf.XXXXXX")"
  run_logged unzip-tensorflow unzip -q -o "$WHL" \
    'tensorflow/libtensorflow_cc.so.2' 'tensorflow/libtensorflow_framework.so.2' \
    'tensorflow/include/tensorflow/c/*' 'tensorflow/include/tensorflow/core/platform/*' \
    'tensorflow/include/tsl/*' -d "$TMP"
  mkdir -p "$TMP/out/lib"
  mv "$TMP/tensorflow/libtensorflow_cc.so.2" "$TMP/tensorflow/libtensorflow_framework.so.2" "$TMP/out/lib/"
  mv "$TMP/tensorflow/include" "$TMP/out/include"
  ln -s libtensorflow_cc.so.2 "$TMP/out/lib/libtensorflow.so"
  ln -s libtensorflow_framework.so.2 "$TMP/out/lib/libtensorflow_framework.so"
  touch "$TMP/out/.complete"
  rm -rf "$TF_DIR"; mv "$TMP/out" "$TF_DIR"; rm -rf "$TMP"
fi

# 2. Point the package's deps/ at it, where binding.gyp and the binding's rpath expect it.
rm -rf "$PKG/deps"; mkdir -p "$PKG/deps/lib"
for f in "$TF_DIR"/lib/*; do ln -s "$f" "$PKG/deps/lib/$(basename "$f")"; done
cp -r "$TF_DIR/include" "$PKG/deps/include"

# 3. Build the binding from source against the local Node.js headers.
NODE_DIR="$(cd "$(dirname "$(command -v node)")/.." && pwd)"
[ -f "$NODE_DIR/include/node/node_api.h" ] || die "Node.js headers not found under $NODE_DIR/include/node (Debian: apt-get install libnode-dev)"
say "building the tfjs-node N-API binding from source"
rm -rf "$PKG/lib" "$PKG/build"
(cd "$PKG" && run_logged build-tfjs-node "$ROOT/node_modules/.bin/node-pre-gyp" rebuild \
  --build-from-source --build-latest-napi-version-only --nodedir="$NODE_DIR")
TF_CPP_MIN_LOG_LEVEL=2 node -e "const tf=require('@tensorflow/tfjs-node');
  if(tf.getBackend()!=='tensorflow')throw new Error('backend is '+tf.getBackend());
  const x=tf.tensor([1,2,3]);if(x.square().sum().dataSync()[0]!==14)throw new Error('wrong sum')" \
  || die "tfjs-node binding was built but the native backend does not work"
stamp_write tfjs-node "$KEY"
