#!/usr/bin/env python3
"""Benchmark: `sluice compile` on a generated 1,000-model project.

Generates the project with ../shared/bench/gen_project.py (`--basic`: views,
tables and built-in tests), then runs the release binary's `compile` several
times and prints wall time (min / median) and peak RSS. dbt-core 1.12 takes
about a minute for the same project (../shared/bench/README.md).

    python3 bench/compile.py [--models 1000] [--runs 5] [--full] [--overhead] [--grain]

`--overhead` alternates runs with and without SLUICE_BENCH_SKIP_SQL (which
leaves out the sqlparser check and column lineage) and prints what they add.
`--grain` alternates runs with and without SLUICE_BENCH_SKIP_GRAIN (which
leaves out grain inference and the nondeterminism lint) and prints what
they add (budget: 15%).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from common import GENERATOR, generate, release_binary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--full", action="store_true", help="full feature set instead of --basic")
    ap.add_argument("--gen", default=GENERATOR)
    ap.add_argument("--overhead", action="store_true",
                    help="also time runs without SQL parsing and lineage, alternating")
    ap.add_argument("--grain", action="store_true",
                    help="also time runs without grain inference and the lint, alternating")
    args = ap.parse_args()

    binary, env = release_binary()
    work = tempfile.mkdtemp(prefix="sluice-bench-")
    project = os.path.join(work, f"p{args.models}")
    generate(project, args.models, basic=not args.full, gen=args.gen)
    env["SYNTH_DUCKDB_PATH"] = os.path.join(work, "bench.duckdb")

    def run_once(run_env):
        start = time.perf_counter()
        proc = subprocess.Popen([binary, "compile", "-q", "--project-dir", project], env=run_env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # wait4 gives this child's own peak RSS (not cargo's or the generator's).
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"sluice compile failed with exit code {os.waitstatus_to_exitcode(status)}")
        return time.perf_counter() - start, usage.ru_maxrss

    times, bare, grainless = [], [], []
    peak_kb = 0
    bare_env = dict(env, SLUICE_BENCH_SKIP_SQL="1")
    grainless_env = dict(env, SLUICE_BENCH_SKIP_GRAIN="1")
    for _ in range(args.runs):
        t, kb = run_once(env)
        times.append(t)
        peak_kb = max(peak_kb, kb)
        if args.overhead:
            bare.append(run_once(bare_env)[0])
        if args.grain:
            grainless.append(run_once(grainless_env)[0])
    # The last run leaves the full artifacts (lineage included) behind.
    if args.overhead or args.grain:
        run_once(env)
    peak_mb = peak_kb / 1024
    nodes = sum(1 for _ in open(os.path.join(project, "target", "manifest.json")).read().split('"unique_id"')) - 1
    print(f"sluice compile, {args.models} models ({'full' if args.full else 'basic'}), {args.runs} runs")
    print(f"  wall: min {min(times):.3f} s, median {statistics.median(times):.3f} s")
    print(f"  peak RSS: {peak_mb:.1f} MB")
    print(f"  unique_id entries in manifest.json: {nodes}")
    if args.overhead:
        full, without = statistics.median(times), statistics.median(bare)
        print(f"  without SQL parsing and lineage: median {without:.3f} s (min {min(bare):.3f} s)")
        print(f"  parsing and lineage add: {100 * (full / without - 1):.0f}%")
    if args.grain:
        full, without = statistics.median(times), statistics.median(grainless)
        print(f"  without grain inference and lint: median {without:.3f} s (min {min(grainless):.3f} s)")
        print(f"  grain inference and lint add: {100 * (full / without - 1):.1f}% (budget 15%)")


if __name__ == "__main__":
    main()
