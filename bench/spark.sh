#!/usr/bin/env bash
# Issue 20's Spark figures, printed as numbers (a benchmark, not a test):
# example_project `build` on a local Spark Connect server against the same
# build on DuckDB (median wall seconds of RUNS builds each; server startup
# excluded: the server is up before the first build), and where the Spark
# build's time goes: run_results.json's execution time summed by resource
# type, the rest being connecting, reading the catalog and compiling.
#
#   bench/spark.sh [RUNS]
#
# Uses the server in SLUICE_SPARK_URL (scripts/spark-server's variables) or
# starts one, and the release binary (built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
target_dir="${CARGO_TARGET_DIR:-$HOME/.cache/sluice-target}"
bin="$target_dir/release/sluice"
[ -x "$bin" ] || cargo build --release --quiet
if [ -z "${SLUICE_SPARK_URL:-}" ]; then
  start=$(date +%s.%N)
  eval "$(scripts/spark-server start)"
  echo "server startup (excluded below): $(echo "$(date +%s.%N) - $start" | bc) s"
  trap 'scripts/spark-server stop "$SLUICE_SPARK_DIR"' EXIT
fi
work=$(mktemp -d /tmp/sluice-bench-spark.XXXXXX)

# shellcheck source=bench/lib.sh
. bench/lib.sh

cp -r example_project "$work/duck"
cp -r example_project "$work/spark"
cat > "$work/spark/profiles.yml" <<YAML
shop_analytics:
  target: spark
  outputs:
    spark:
      type: spark
      method: connect
      host: $SLUICE_SPARK_URL
      schema: bench_spark
      threads: 4
YAML
for i in $(seq "$runs"); do wall "$bin" build --project-dir "$work/duck"; done > "$work/duck.times"
for i in $(seq "$runs"); do wall "$bin" build --project-dir "$work/spark"; done > "$work/spark.times"
duck=$(median < "$work/duck.times")
spark=$(median < "$work/spark.times")
echo "example_project build, median of $runs: DuckDB ${duck} s, Spark ${spark} s ($(tr '\n' ' ' < "$work/spark.times")), ratio $(echo "scale=1; $spark / $duck" | bc)x"
echo "where the last Spark build's time goes (run_results.json, summed per resource type; 4 threads overlap):"
python3 - "$work/spark/target/run_results.json" "$spark" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
by = {}
for r in results:
    kind = r["unique_id"].split(".")[0]
    n, t = by.get(kind, (0, 0.0))
    by[kind] = (n + 1, t + r["execution_time"])
for kind, (n, t) in sorted(by.items(), key=lambda kv: -kv[1][1]):
    print(f"  {kind:<10} {n:>3} nodes  {t:6.2f} s")
slowest = sorted(results, key=lambda r: -r["execution_time"])[:5]
print("  slowest: " + ", ".join(f'{r["unique_id"].split(".")[-1]} {r["execution_time"]:.2f} s' for r in slowest))
PY
rm -rf "$work"
