#!/usr/bin/env bash
# Issue 21's microbatch budget, printed as numbers (a benchmark, not a
# test): a microbatch model over DAYS daily batches of ROWS rows each
# (default 365 x 10,000), built from `begin` in one run, against one
# full-refresh build of the same SQL as a plain table (budget: at most 2x).
# Also the same with `concurrent_batches` on 2 threads, and a day's
# incremental run (lookback 1: two batches). Median wall
# seconds of RUNS runs; the clock is pinned with SLUICE_INVOCATION_TIME.
#
#   bench/microbatch.sh [DAYS] [ROWS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
days=${1:-365}
rows=${2:-10000}
runs=${3:-3}
target_dir="${CARGO_TARGET_DIR:-$HOME/.cache/sluice-target}"
bin="$target_dir/release/sluice"
[ -x "$bin" ] || cargo build --release --quiet
work=$(mktemp -d /tmp/sluice-bench-microbatch.XXXXXX)
trap 'rm -rf "$work"' EXIT
# shellcheck source=bench/lib.sh
. bench/lib.sh
p="$work/p"
mkdir -p "$p/models"
cat > "$p/dbt_project.yml" <<YML
name: mbbench
version: '1.0'
profile: mbbench
YML
total=$((days * rows))
cat > "$p/models/events.sql" <<SQL
{{ config(materialized='table', event_time='ts') }}
select range as id,
       timestamp '2024-01-01' + to_microseconds(range * (86400000000 // $rows)) as ts,
       range % 97 as customer_id,
       (range * 7919) % 1000 as amount
from range($total)
SQL
select="select id, ts, customer_id, amount, amount * 1.1 as amount_with_tax, customer_id % 7 as segment"
cat > "$p/models/by_batches.sql" <<SQL
{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='ts',
          batch_size='day', begin='2024-01-01', concurrent_batches=var('concurrent', false)) }}
$select from {{ ref('events') }}
SQL
cat > "$p/models/full.sql" <<SQL
{{ config(materialized='table') }}
$select from {{ ref('events') }}
SQL
end=$(date -u -d "2024-01-01 + $days days" '+%Y-%m-%d 00:00:00')
last=$(date -u -d "2024-01-01 + $((days - 1)) days" '+%Y-%m-%d 12:00:00')
(cd "$p" && SLUICE_INVOCATION_TIME="$end" "$bin" run -q -s events >/dev/null 2>&1)
one() { (cd "$p" && SLUICE_INVOCATION_TIME="$1" wall "$bin" run -q "${@:2}"); }
full=$(for _ in $(seq "$runs"); do one "$end" -s full; done | median)
batches=$(for _ in $(seq "$runs"); do one "$end" -s by_batches --full-refresh; done | median)
concurrent=$(for _ in $(seq "$runs"); do
  one "$end" -s by_batches --full-refresh --threads 2 --vars '{concurrent: true}'
done | median)
daily=$(for _ in $(seq "$runs"); do one "$last" -s by_batches; done | median)
same=$(cd "$p" && "$bin" show -q --limit 1 --inline \
  "select count(*) as differing from (select * from {{ ref('full') }} except all select * from {{ ref('by_batches') }})" \
  2>/dev/null | awk -F'|' 'NR==3 {gsub(/ /, "", $2); print $2}')
# (compares the table the concurrent run left with the full refresh)
echo "full refresh as one table ($total rows):       $full s (median of $runs)"
echo "microbatch, $days batches of $rows rows:        $batches s (median of $runs); ratio $(echo "scale=2; $batches / $full" | bc)x (budget 2x)"
echo "  with concurrent_batches, --threads 2:        $concurrent s; ratio $(echo "scale=2; $concurrent / $full" | bc)x"
echo "microbatch incremental run (2 batches):      $daily s (median of $runs)"
echo "rows differing between the two tables:       $same"
