"""Shared by the benchmarks: the release binary and generated projects."""
import os
import subprocess
import sys
import tomllib

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


def bundled_duckdb_version():
    """The DuckDB engine version sluice links, from Cargo.lock's libduckdb-sys:
    crate versions 1.MMmmpp.x carry engine M.m.p (1.20000.1 is DuckDB 2.0.0);
    older ones (1.4.1) are the engine version itself."""
    with open(os.path.join(ROOT, "Cargo.lock"), "rb") as f:
        packages = tomllib.load(f)["package"]
    version = next(p["version"] for p in packages if p["name"] == "libduckdb-sys")
    mid = int(version.split(".")[1])
    if mid >= 10000:
        return f"{mid // 10000}.{mid // 100 % 100}.{mid % 100}"
    return version


def import_duckdb():
    """Imports the `duckdb` Python package at the engine version sluice links
    (installing it with pip when missing or different), so a floor measured
    with it runs the same engine as sluice."""
    from importlib import metadata
    wanted = bundled_duckdb_version()
    try:
        have = metadata.version("duckdb")
    except metadata.PackageNotFoundError:
        have = None
    if have != wanted:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"duckdb=={wanted}"], check=True)
    import duckdb
    if duckdb.__version__ != wanted:
        sys.exit(f"the duckdb Python package is {duckdb.__version__}, sluice links {wanted}")
    return duckdb
