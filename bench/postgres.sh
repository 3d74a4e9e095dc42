#!/usr/bin/env bash
# Issue 20's PostgreSQL budgets, printed as numbers (a benchmark, not a test):
#
#   1. example_project `build` on PostgreSQL against the same build on DuckDB
#      (median wall seconds of RUNS builds each; budget: within 3x);
#   2. the generated 1,000-model project (../shared/bench/gen_project.py
#      --basic; its DuckDB-only SQL rewritten: range() to generate_series(),
#      to_minutes() to interval arithmetic, `double` to `double precision`,
#      round(double, int) added to the server; its sources pointed at the
#      target schema)
#      built on PostgreSQL with --threads 1 and --threads 4.
#
#   bench/postgres.sh [RUNS] [MODELS]
#
# Uses the server in SLUICE_PG_* (scripts/pg-server's variables) or starts
# one, and the release binary (built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
models=${2:-1000}
target_dir="${CARGO_TARGET_DIR:-$HOME/.cache/sluice-target}"
bin="$target_dir/release/sluice"
[ -x "$bin" ] || cargo build --release --quiet
if [ -z "${SLUICE_PG_HOST:-}" ]; then
  eval "$(scripts/pg-server start)"
  trap 'scripts/pg-server stop "$SLUICE_PG_DIR"' EXIT
fi
export PGPASSWORD="$SLUICE_PG_PASSWORD"
work=$(mktemp -d /tmp/sluice-bench-pg.XXXXXX)

# profiles.yml for profile $1 on the server, schema $2, threads $3.
pg_profile() {
  cat <<EOF
$1:
  target: pg
  outputs:
    pg:
      type: postgres
      host: $SLUICE_PG_HOST
      port: $SLUICE_PG_PORT
      user: $SLUICE_PG_USER
      password: "{{ env_var('PGPASSWORD') }}"
      dbname: postgres
      schema: $2
      threads: $3
EOF
}

# shellcheck source=bench/lib.sh
. bench/lib.sh

cp -r example_project "$work/duck"
cp -r example_project "$work/pg"
pg_profile shop_analytics bench_pg 4 > "$work/pg/profiles.yml"
for i in $(seq "$runs"); do wall "$bin" build --project-dir "$work/duck"; done > "$work/duck.times"
for i in $(seq "$runs"); do wall "$bin" build --project-dir "$work/pg"; done > "$work/pg.times"
duck=$(median < "$work/duck.times")
pg=$(median < "$work/pg.times")
echo "example_project build, median of $runs: DuckDB ${duck} s, PostgreSQL ${pg} s, ratio $(echo "scale=2; $pg / $duck" | bc)x (budget 3x)"

python3 ../shared/bench/gen_project.py --basic --models "$models" --out "$work/gen" --force >/dev/null
grep -rl 'range(\|to_minutes(\|as double' "$work/gen/models" | xargs sed -i \
  -e 's/from range(1, \([0-9]*\))/from generate_series(1, \1 - 1) as range/' \
  -e "s/to_minutes(/interval '1 minute' * (/g" \
  -e 's/as double)/as double precision)/g'
# Its sources name DuckDB's default schema, where its seeds land; here they
# land in the target schema.
sed -i 's/schema: main$/schema: gen_pg/' "$work/gen/models/staging/_sources.yml"
# DuckDB has round(double, int); PostgreSQL only round(numeric, int).
psql -q -h "$SLUICE_PG_HOST" -p "$SLUICE_PG_PORT" -U "$SLUICE_PG_USER" -d postgres \
  -c "create or replace function public.round(double precision, integer) returns numeric language sql immutable as 'select round(\$1::numeric, \$2)'"
for threads in 1 4; do
  psql -q -h "$SLUICE_PG_HOST" -p "$SLUICE_PG_PORT" -U "$SLUICE_PG_USER" -d postgres \
    -c "drop schema if exists gen_pg cascade" 2>/dev/null
  pg_profile synth_bench gen_pg "$threads" > "$work/gen/profiles.yml"
  t=$(wall "$bin" build --project-dir "$work/gen" --threads "$threads")
  echo "generated $models-model project build on PostgreSQL, --threads $threads: ${t} s"
done
rm -rf "$work"
