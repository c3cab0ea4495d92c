#!/bin/sh
# Runs once in temporalio/admin-tools before the Temporal server starts: creates and migrates the
# persistence and visibility databases on PostgreSQL. Safe to re-run (create tolerates existing DBs,
# update-schema applies only missing versions).
set -eu
EP="${POSTGRES_SEEDS:-temporal-db}"
PORT="${DB_PORT:-5432}"
USER="${POSTGRES_USER:-temporal}"
export SQL_PASSWORD="${POSTGRES_PWD:-temporal}"
SCHEMA=/etc/temporal/schema/postgresql/v12

until nc -z "$EP" "$PORT"; do echo "waiting for PostgreSQL at $EP:$PORT"; sleep 1; done
for db in temporal temporal_visibility; do
  temporal-sql-tool --plugin postgres12 --ep "$EP" -u "$USER" -p "$PORT" --db "$db" create || true
done
temporal-sql-tool --plugin postgres12 --ep "$EP" -u "$USER" -p "$PORT" --db temporal setup-schema -v 0.0 || true
temporal-sql-tool --plugin postgres12 --ep "$EP" -u "$USER" -p "$PORT" --db temporal update-schema -d "$SCHEMA/temporal/versioned"
temporal-sql-tool --plugin postgres12 --ep "$EP" -u "$USER" -p "$PORT" --db temporal_visibility setup-schema -v 0.0 || true
temporal-sql-tool --plugin postgres12 --ep "$EP" -u "$USER" -p "$PORT" --db temporal_visibility update-schema -d "$SCHEMA/visibility/versioned"
echo "Temporal schema ready"
