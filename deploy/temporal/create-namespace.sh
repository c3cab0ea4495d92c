#!/bin/sh
# Creates Curio's namespace and registers the search attributes its workflows set
# (the same ones `curio services up` registers on the dev server).
set -eu
NS="${DEFAULT_NAMESPACE:-default}"
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" | grep -q SERVING; do sleep 1; done
temporal operator namespace describe -n "$NS" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 \
  || temporal operator namespace create -n "$NS" --address "$TEMPORAL_ADDRESS" --retention 30d
for sa in CurioDataset CurioScale CurioOutcome; do
  temporal operator search-attribute create -n "$NS" --address "$TEMPORAL_ADDRESS" --name "$sa" --type Keyword || true
done
echo "namespace $NS ready"
