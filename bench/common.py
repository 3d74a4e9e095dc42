"""Shared by the benchmarks: the release binary and generated projects."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENERATOR = os.path.join(ROOT, "..", "shared", "bench", "gen_project.py")


def release_binary(env=None):
    """Builds sluice in release mode (target dir outside the repo, as CI) and
    returns `(binary path, environment with CARGO_TARGET_DIR set)`."""
    target_dir = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/sluice-target"))
    env = dict(env or os.environ, CARGO_TARGET_DIR=target_dir)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, env=env, check=True)
    return os.path.join(target_dir, "release", "sluice"), env


def generate(out, models, basic=True, gen=GENERATOR):
    """Writes a synthetic dbt project of `models` models to `out` with
    ../shared/bench/gen_project.py (`--basic`: views, tables, built-in tests)."""
    cmd = [sys.executable, gen, "--models", str(models), "--out", out]
    if basic:
        cmd.insert(2, "--basic")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
