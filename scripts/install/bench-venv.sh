#!/usr/bin/env bash
# The bench-only Python environment of `npm run bench:peer` (bench/peer/reference.py): CPU PyTorch
# and NumPy from PyPI in .venv-bench/ (git-ignored), with the Python the MLflow venv uses.
#
# PyPI's Linux x86_64 torch wheel is a CUDA build: it requires about 3 GB of cuda-toolkit/nvidia-*
# wheels and `import torch` fails without them (libtorch_cpu.so itself links libcudart and
# libcupti). The benchmark runs on CPU only, so torch is installed with --no-deps together with its
# pure-Python requirements (all pinned in bench/peer/requirements.txt), and
# bench/peer/cuda_stubs.py writes small stand-ins for the CUDA libraries it links into torch/lib/.
# The wheels are kept in the user-level cache ($CACHE_DIR/wheels, beside the TensorFlow wheel of
# tfjs-node.sh), outside the repository; pip's own cache is not used.
# Idempotent: skipped while the stamp matches the pins and the stub generator and torch imports.
# Not part of `make install`: only the peer benchmark needs it.
STEP=bench-venv
source "$(dirname "$0")/lib.sh"

VENV="$ROOT/.venv-bench"
REQ="$ROOT/bench/peer/requirements.txt"
STUBS="$ROOT/bench/peer/cuda_stubs.py"
KEY="$(hash_files "$REQ" "$STUBS")"

# A forward and backward pass on CPU, and no CUDA device (the stubs answer "no device").
works() {
  "$VENV/bin/python" -c "
import numpy, torch
assert not torch.cuda.is_available()
x = torch.randn(64, 32, requires_grad=True)
torch.nn.functional.log_softmax(x @ x.T, 1).sum().backward()
assert x.grad is not None and torch.isfinite(x.grad).all()
print('torch', torch.__version__, 'numpy', numpy.__version__, 'threads', torch.get_num_threads())"
}

if stamp_ok bench-venv "$KEY" && [ -x "$VENV/bin/python" ] && OUT="$(works 2>/dev/null)"; then
  say "bench venv present: $OUT"; exit 0
fi

PY="${CURIO_PYTHON:-$(command -v python3 || true)}"
[ -n "$PY" ] || die "python3 is required for the bench venv (the MLflow venv's Python; set CURIO_PYTHON to choose another)"
for tool in readelf ldd "${CC:-cc}"; do
  command -v "$tool" >/dev/null || die "$tool is required to build the CUDA stand-ins (Debian: apt-get install binutils gcc)"
done
stamp_clear bench-venv
rm -rf "$VENV"
run_logged bench-venv "$PY" -m venv "$VENV"
WHEELS="$CACHE_DIR/wheels"
mkdir -p "$WHEELS"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check --no-cache-dir)
say "downloading the pinned wheels into $WHEELS (torch about 540 MB, once per machine)"
run_logged pip-download-bench "${PIP[@]}" download --no-deps --only-binary=:all: -d "$WHEELS" -r "$REQ"
say "installing into $VENV without torch's CUDA requirements"
run_logged pip-install-bench "${PIP[@]}" install --no-index --find-links "$WHEELS" --no-deps -r "$REQ"
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
say "writing CUDA stand-ins into $SITE/torch/lib"
run_logged cuda-stubs "$VENV/bin/python" "$STUBS" "$SITE/torch"
OUT="$(works)" || die "torch in $VENV does not run on CPU; see $LOG_DIR/cuda-stubs.log"
stamp_write bench-venv "$KEY"
say "bench venv ready: $OUT"
