#!/usr/bin/env python3
"""Benchmark: `sluice run --threads 2` against the DuckDB floor.

Generates the full-feature 1,000-model project (../shared/bench/gen_project.py),
seeds it once, then on two copies of the seeded database:
  1. times `sluice run --threads 2`;
  2. times DuckDB alone (the `duckdb` Python package, same engine version)
     executing the same compiled statements from target/manifest.json in
     dependency order: `create or replace view|table <relation> as (<sql>)`,
     then closing the connection (the checkpoint sluice's process also pays
     before exiting).
Prints both and the ratio, and the floor without the close too. sluice's
time is the whole process: parse, compile, artifacts, run, close. Needs the `duckdb` Python package at the engine version sluice links (installed if missing or different).

    python3 bench/run.py [--models 1000] [--threads 2]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from common import GENERATOR, generate, import_duckdb, release_binary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--gen", default=GENERATOR)
    args = ap.parse_args()
    duckdb = import_duckdb()

    binary, env = release_binary(dict(os.environ, SYNTH_THREADS=str(args.threads)))
    work = tempfile.mkdtemp(prefix="sluice-runbench-")
    project = os.path.join(work, "project")
    generate(project, args.models, basic=False, gen=args.gen)
    seeded = os.path.join(work, "seeded.duckdb")
    env["SYNTH_DUCKDB_PATH"] = seeded
    subprocess.run([binary, "seed", "-q", "--project-dir", project], env=env, check=True)

    # 1. sluice run
    sluice_db = os.path.join(work, "bench.duckdb")
    shutil.copy(seeded, sluice_db)
    env["SYNTH_DUCKDB_PATH"] = sluice_db
    start = time.perf_counter()
    proc = subprocess.run([binary, "run", "-q", "--threads", str(args.threads), "--project-dir", project],
                          env=env, stderr=subprocess.PIPE, text=True)
    sluice_s = time.perf_counter() - start
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        sys.exit("sluice run failed")

    # 2. DuckDB alone, same compiled statements, dependency order.
    manifest = json.load(open(os.path.join(project, "target", "manifest.json")))
    models = {k: v for k, v in manifest["nodes"].items() if v["resource_type"] == "model"}
    order, seen = [], set()

    def visit(uid):
        if uid in seen or uid not in models:
            return
        seen.add(uid)
        for dep in models[uid]["depends_on"]["nodes"]:
            visit(dep)
        order.append(uid)

    for uid in sorted(models):
        visit(uid)
    # Same file name as sluice's, so the catalog name in the compiled SQL matches.
    os.makedirs(os.path.join(work, "floor"))
    floor_db = os.path.join(work, "floor", "bench.duckdb")
    shutil.copy(seeded, floor_db)
    con = duckdb.connect(floor_db)
    con.execute(f"set threads = {args.threads}")
    statements = []
    for uid in order:
        node = models[uid]
        kind = node["config"].get("materialized", "view")
        if kind == "ephemeral":
            continue
        ddl = "view" if kind == "view" else "table"
        sql = node["compiled_code"].rstrip().rstrip(";")
        statements.append((f'create schema if not exists "{node["database"]}"."{node["schema"]}"',
                           f"create or replace {ddl} {node['relation_name']} as (\n{sql}\n)"))
    start = time.perf_counter()
    for schema, stmt in statements:
        con.execute(schema)
        con.execute(stmt)
    floor_s = time.perf_counter() - start
    # Closing checkpoints the write-ahead log into the file, which sluice's
    # process also does before it exits: the floor with it is the like-for-like one.
    con.close()
    floor_close_s = time.perf_counter() - start

    print(f"sluice run --threads {args.threads}, {args.models}-model project ({len(statements)} models built)")
    print(f"  sluice run:   {sluice_s:.2f} s")
    print(f"  DuckDB alone: {floor_close_s:.2f} s (same compiled statements, one connection, then close/checkpoint)")
    print(f"  ratio:        {sluice_s / floor_close_s:.2f}x")
    print(f"  DuckDB alone without the close/checkpoint: {floor_s:.2f} s (ratio {sluice_s / floor_s:.2f}x)")


if __name__ == "__main__":
    main()
