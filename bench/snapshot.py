#!/usr/bin/env python3
"""Benchmark: a timestamp-strategy snapshot of a 1,000,000-row source with 10%
of the rows changed, against hand-written DuckDB SQL doing the same SCD Type 2
update (the floor).

Builds a small project whose snapshot reads `source('raw', 'src')`, creates the
source table (id, name, amount, updated_at) in a DuckDB file, runs the first
snapshot, then changes every tenth row (new amount, later updated_at) and adds
1% new keys. On two copies of that database it times:
  1. the whole `sluice snapshot` process;
  2. DuckDB alone (Python `duckdb`, same engine version): in one transaction,
     close the changed current rows and insert their new versions and the new
     keys, then close the connection (checkpoint), as sluice's process does.
Checks both give the same table, and prints both times and the ratio.

    python3 bench/snapshot.py [--rows 1000000] [--runs 3] [--primary-key]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from common import import_duckdb, release_binary

PROJECT = """name: snapbench
profile: snapbench
snapshots:
  snapbench:
    +target_schema: snapshots
"""
SOURCES = """version: 2
sources:
  - name: raw
    schema: raw
    tables:
      - name: src
"""
SNAPSHOT = """{% snapshot src_history %}
{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at') }}
select * from {{ source('raw', 'src') }}
{% endsnapshot %}
"""

FLOOR = """
begin transaction;
update snapshots.src_history as s
set dbt_valid_to = src.updated_at
from raw.src as src
where s.id = src.id and s.dbt_valid_to is null and s.dbt_updated_at < src.updated_at;
insert into snapshots.src_history
select src.*, md5(cast(src.id as varchar) || '|' || cast(src.updated_at as varchar)),
       src.updated_at, src.updated_at, cast(null as timestamp)
from raw.src as src
left join snapshots.src_history as s on s.id = src.id and s.dbt_valid_to = src.updated_at
left join snapshots.src_history as c on c.id = src.id and c.dbt_valid_to is null
where s.id is not null or c.id is null;
commit;
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--primary-key", action="store_true",
                    help="declare raw.src's id a PRIMARY KEY (sluice then skips its duplicate-key scan)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (printed) for profiling")
    args = ap.parse_args()
    duckdb = import_duckdb()

    binary, env = release_binary(dict(os.environ, SLUICE_SNAPSHOT_TIME="2024-06-01 00:00:00"))

    work = tempfile.mkdtemp(prefix="sluice-snapbench-")
    project = os.path.join(work, "project")
    os.makedirs(os.path.join(project, "snapshots"))
    os.makedirs(os.path.join(project, "models"))
    open(os.path.join(project, "dbt_project.yml"), "w").write(PROJECT)
    open(os.path.join(project, "models", "sources.yml"), "w").write(SOURCES)
    open(os.path.join(project, "snapshots", "src_history.sql"), "w").write(SNAPSHOT)
    db = os.path.join(project, "snapbench.duckdb")
    con = duckdb.connect(db)
    con.execute("create schema raw")
    key = " primary key" if args.primary_key else ""
    con.execute(f"create table raw.src (id bigint{key}, name varchar, amount bigint, updated_at timestamp)")
    con.execute(f"""insert into raw.src
        select i as id, 'name ' || i as name, (i * 7) % 1000 as amount,
               timestamp '2024-01-01' + to_seconds(i % 86400) as updated_at
        from range({args.rows}) t(i)""")
    con.close()
    first = subprocess.run([binary, "snapshot", "-q", "--project-dir", project], env=env,
                           stderr=subprocess.PIPE, text=True)
    if first.returncode != 0:
        sys.exit(first.stderr)
    con = duckdb.connect(db)
    con.execute("update raw.src set amount = amount + 1, updated_at = updated_at + interval 10 day where id % 10 = 0")
    con.execute(f"""insert into raw.src select i, 'name ' || i, 1, timestamp '2024-03-01'
                    from range({args.rows}, {args.rows + args.rows // 100}) t(i)""")
    con.close()
    base = os.path.join(work, "base.duckdb")
    shutil.copy(db, base)
    env["SLUICE_SNAPSHOT_TIME"] = "2024-06-02 00:00:00"

    sluice_times, floor_times = [], []
    for _ in range(args.runs):
        shutil.copy(base, db)
        start = time.perf_counter()
        run = subprocess.run([binary, "snapshot", "-q", "--project-dir", project], env=env,
                             stderr=subprocess.PIPE, text=True)
        sluice_times.append(time.perf_counter() - start)
        if run.returncode != 0:
            sys.exit(run.stderr)
        con = duckdb.connect(db, read_only=True)
        sluice_table = con.execute("select * exclude (dbt_scd_id) from snapshots.src_history order by all").fetchall()
        con.close()

        floor_db = os.path.join(work, "floor.duckdb")
        shutil.copy(base, floor_db)
        start = time.perf_counter()
        con = duckdb.connect(floor_db)
        con.execute(FLOOR)
        con.close()
        floor_times.append(time.perf_counter() - start)
        con = duckdb.connect(floor_db, read_only=True)
        floor_table = con.execute("select * exclude (dbt_scd_id) from snapshots.src_history order by all").fetchall()
        con.close()
        if sluice_table != floor_table:
            sys.exit("sluice and the hand-written SQL disagree on the snapshot table")

    s, f = statistics.median(sluice_times), statistics.median(floor_times)
    keyed = ", id a primary key" if args.primary_key else ""
    print(f"timestamp snapshot, {args.rows:,}-row source{keyed}, 10% changed + 1% new ({args.runs} runs, medians)")
    print(f"  sluice snapshot:  {s:.2f} s  (runs: {', '.join(f'{t:.2f}' for t in sluice_times)})")
    print(f"  hand-written SQL: {f:.2f} s  (runs: {', '.join(f'{t:.2f}' for t in floor_times)})")
    print(f"  ratio:            {s / f:.2f}x")
    if args.keep:
        print(f"  work directory: {work} (base.duckdb is the changed source before the run)")
    else:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
