#!/usr/bin/env bash
# Issue 21's freshness budget, printed as numbers (a benchmark, not a test):
# `sluice source freshness` over N source tables (default 1,000), each with
# a threshold and a loaded_at_field, on a copy of example_project whose
# seeds they read; median wall seconds of RUNS runs (budget: under 1 s for
# 1,000), and the same project's `sluice compile` for scale.
#
#   bench/freshness.sh [N] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
runs=${2:-5}
target_dir="${CARGO_TARGET_DIR:-$HOME/.cache/sluice-target}"
bin="$target_dir/release/sluice"
[ -x "$bin" ] || cargo build --release --quiet
work=$(mktemp -d /tmp/sluice-bench-freshness.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r example_project "$work/p"
{
  echo "version: 2"
  echo "sources:"
  echo "  - name: loads"
  echo "    schema: \"{{ target.schema }}_raw\""
  echo "    config:"
  echo "      freshness: {warn_after: {count: 1, period: day}, error_after: {count: 36500, period: day}}"
  echo "      loaded_at_field: \"cast(order_date as timestamp)\""
  echo "    tables:"
  for i in $(seq 1 "$n"); do
    echo "      - {name: t$i, identifier: raw_orders}"
  done
} > "$work/p/models/staging/_bench_sources.yml"
(cd "$work/p" && "$bin" seed -q >/dev/null)
# shellcheck source=bench/lib.sh
. bench/lib.sh
fresh=$(for _ in $(seq "$runs"); do (cd "$work/p" && wall "$bin" source freshness -q); done | median)
compile=$(for _ in $(seq "$runs"); do (cd "$work/p" && wall "$bin" compile -q); done | median)
checked=$(python3 -c "import json;print(len(json.load(open('$work/p/target/sources.json'))['results']))")
echo "source freshness over $checked sources: $fresh s (median of $runs)"
echo "compile of the same project:           $compile s (median of $runs)"
