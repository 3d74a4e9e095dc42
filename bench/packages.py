#!/usr/bin/env python3
"""Benchmark: `sluice compile` with dbt_utils installed, against the same
project without packages (issue 16's budget: at most 1.5x).

Generates the 1,000-model project with ../shared/bench/gen_project.py
(`--basic`) twice. In the second copy, dbt_utils is installed under
dbt_packages/ (from a checkout you pass: its code is never part of this
repository) and listed in packages.yml, and every tenth intermediate model
calls `dbt_utils.generate_surrogate_key` and `dbt_utils.star` (in a trailing
SQL comment, so the compiled SQL stays valid and the DAG the same). Then the
release binary's `compile` runs alternately on both, and the medians and
their ratio are printed.

    python3 bench/packages.py --dbt-utils /path/to/dbt-utils [--models 1000] [--runs 5]

Get a dbt-utils checkout with `git clone https://github.com/dbt-labs/dbt-utils`
(tag 1.3.0), or `sluice deps` on a project that lists it.
"""
import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from common import GENERATOR, generate, release_binary


def add_dbt_utils(project, dbt_utils):
    dest = os.path.join(project, "dbt_packages", "dbt_utils")
    shutil.copytree(dbt_utils, dest, ignore=shutil.ignore_patterns(
        ".git", "integration_tests", "docs", "target", "dbt_packages"))
    with open(os.path.join(project, "packages.yml"), "w") as f:
        f.write("packages:\n  - package: dbt-labs/dbt_utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n")
    models = sorted(glob.glob(os.path.join(project, "models", "intermediate", "**", "*.sql"), recursive=True))
    changed = 0
    for i, path in enumerate(models):
        if i % 10:
            continue
        with open(path) as f:
            text = f.read()
        with open(path, "a") as f:
            f.write(
                "\n-- sk: {{ dbt_utils.generate_surrogate_key(['id', 'customer_id']) }}"
                "\n-- star: {{ dbt_utils.star(from=ref('stg_customers'), except=['id']) | replace('\\n', ' ') }}\n"
            )
        changed += 1
    return changed, len(models)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dbt-utils", required=True, help="a dbt-utils checkout (1.3.x)")
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--gen", default=GENERATOR)
    args = ap.parse_args()

    binary, env = release_binary()
    work = tempfile.mkdtemp(prefix="sluice-bench-pkg-")
    plain = os.path.join(work, "plain")
    with_pkg = os.path.join(work, "with_dbt_utils")
    generate(plain, args.models, basic=True, gen=args.gen)
    shutil.copytree(plain, with_pkg)
    changed, total = add_dbt_utils(with_pkg, args.dbt_utils)
    env["SYNTH_DUCKDB_PATH"] = os.path.join(work, "bench.duckdb")

    def run_once(project):
        start = time.perf_counter()
        proc = subprocess.run([binary, "compile", "-q", "--project-dir", project], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            sys.exit(f"sluice compile failed on {project} (exit {proc.returncode}):\n{proc.stderr}")
        return time.perf_counter() - start

    base, pkg = [], []
    for _ in range(args.runs):
        base.append(run_once(plain))
        pkg.append(run_once(with_pkg))
    print(f"sluice compile, {args.models} models (basic), {args.runs} runs each, alternating")
    print(f"  without packages:           min {min(base):.3f} s, median {statistics.median(base):.3f} s")
    print(f"  dbt_utils, {changed}/{total} models call it: min {min(pkg):.3f} s, median {statistics.median(pkg):.3f} s")
    print(f"  ratio of medians: {statistics.median(pkg) / statistics.median(base):.2f}x (budget 1.5x)")


if __name__ == "__main__":
    main()
