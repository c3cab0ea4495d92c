#!/usr/bin/env bash
# The MLflow tracking server from PyPI, in a project-local virtual environment.
STEP=mlflow
source "$(dirname "$0")/lib.sh"

VENV="$TOOLS_DIR/mlflow-venv"
KEY="mlflow==$MLFLOW_VERSION"
if stamp_ok mlflow "$KEY" && [ -x "$VENV/bin/mlflow" ]; then say "$KEY present"; exit 0; fi

PY="${CURIO_PYTHON:-$(command -v python3 || true)}"
[ -n "$PY" ] || die "python3 is required for the MLflow server"
stamp_clear mlflow
rm -rf "$VENV"
run_logged mlflow-venv "$PY" -m venv "$VENV"
say "pip install $KEY into $VENV"
run_logged pip-mlflow "$VENV/bin/pip" install --disable-pip-version-check "$KEY"
"$VENV/bin/python" -c "import mlflow; assert mlflow.__version__ == '$MLFLOW_VERSION', mlflow.__version__" \
  || die "mlflow in $VENV is not $MLFLOW_VERSION"
stamp_write mlflow "$KEY"
