#!/usr/bin/env python3
"""Benchmark: `sluice docs generate` on the generated 1,000-model project, and
how fast the page it writes becomes interactive in headless Chromium.

Generates the project (../shared/bench/gen_project.py --basic), builds its
seeds and models (`sluice seed`, `sluice run`, so catalog.json has tables and row counts and the page
has run statuses), then:
  1. times the whole `sluice docs generate` process (min / median of --runs);
  2. opens target/index.html from file:// in Chromium (--dump-dom) on the
     overview, a node page and the whole-DAG graph, and reads the page's
     `data-ready-ms`: performance.now() when the page has drawn the route and
     attached its handlers, i.e. milliseconds from navigation start to
     interactive (includes parsing the embedded data).
Budgets (issue 6): docs generate under 2 s, the page interactive under 1 s.

    python3 bench/docs.py [--models 1000] [--runs 5]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from common import GENERATOR, generate, release_binary

CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--gen", default=GENERATOR)
    args = ap.parse_args()

    binary, env = release_binary()
    work = tempfile.mkdtemp(prefix="sluice-docsbench-")
    project = os.path.join(work, f"p{args.models}")
    generate(project, args.models, gen=args.gen)
    env["SYNTH_DUCKDB_PATH"] = os.path.join(work, "bench.duckdb")
    for step in (["seed"], ["run", "--threads", "2"]):
        subprocess.run([binary, *step, "-q", "--project-dir", project], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run([binary, "docs", "generate", "-q", "--project-dir", project], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    index = os.path.join(project, "target", "index.html")
    size_mb = os.path.getsize(index) / 1e6
    print(f"sluice docs generate, {args.models} models (basic), {args.runs} runs")
    print(f"  wall: min {min(times):.3f} s, median {statistics.median(times):.3f} s")
    print(f"  index.html: {size_mb:.1f} MB")

    chrome = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not chrome:
        print("  page: skipped, no Chromium on PATH (apt-get install chromium)")
        shutil.rmtree(work)
        return
    model = re.search(r'"id":"(model\.[^"]+)"', open(index).read()).group(1)
    for name, route in [("overview", ""), (f"node page ({model})", f"#node={model}"), ("whole DAG", "#graph")]:
        ready = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as profile:
                dom = subprocess.run([chrome, *CHROME_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                                      f"file://{index}{route}"], capture_output=True, text=True).stdout
            m = re.search(r'data-ready-ms="(\d+)"', dom)
            if not m:
                sys.exit(f"the page did not finish on {route or 'overview'}")
            ready.append(int(m.group(1)))
        print(f"  interactive, {name}: median {statistics.median(ready):.0f} ms (runs: {', '.join(map(str, ready))})")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
