#!/usr/bin/env python3
"""Benchmark: `sluice compile` on a generated 1,000-model project.

Generates the project with ../shared/bench/gen_project.py (`--basic`: views,
tables and built-in tests), then runs the release binary's `compile` several
times and prints wall time (min / median) and peak RSS. dbt-core 1.12 takes
about a minute for the same project (../shared/bench/README.md).

    python3 bench/compile.py [--models 1000] [--runs 5] [--full]
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
    args = ap.parse_args()

    binary, env = release_binary()
    work = tempfile.mkdtemp(prefix="sluice-bench-")
    project = os.path.join(work, f"p{args.models}")
    generate(project, args.models, basic=not args.full, gen=args.gen)
    env["SYNTH_DUCKDB_PATH"] = os.path.join(work, "bench.duckdb")

    times = []
    peak_kb = 0
    for _ in range(args.runs):
        start = time.perf_counter()
        proc = subprocess.Popen([binary, "compile", "-q", "--project-dir", project], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # wait4 gives this child's own peak RSS (not cargo's or the generator's).
        _, status, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - start)
        peak_kb = max(peak_kb, usage.ru_maxrss)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"sluice compile failed with exit code {os.waitstatus_to_exitcode(status)}")
    peak_mb = peak_kb / 1024
    nodes = sum(1 for _ in open(os.path.join(project, "target", "manifest.json")).read().split('"unique_id"')) - 1
    print(f"sluice compile, {args.models} models ({'full' if args.full else 'basic'}), {args.runs} runs")
    print(f"  wall: min {min(times):.3f} s, median {statistics.median(times):.3f} s")
    print(f"  peak RSS: {peak_mb:.1f} MB")
    print(f"  unique_id entries in manifest.json: {nodes}")


if __name__ == "__main__":
    main()
