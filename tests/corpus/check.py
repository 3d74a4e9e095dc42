#!/usr/bin/env python3
"""Runs every broken project of tests/corpus/ against a sluice binary and
prints a table: case, expected vs actual exit, location ok, hint ok, kind ok,
crash, and the verdict.

    python3 tests/corpus/check.py path/to/sluice [-v] [NAME_SUBSTRING ...]

Each case is a patch of example_project in the format of
tests/fixtures/errors/*.txt, with a header of `# key: value` lines (see
tests/corpus/README.md). The same checks are made by tests/corpus.rs; keep
the two in step.

Verdicts: `ok` (meets its expectation), `FAIL` (does not, and is not a known
gap), `gap` (a known gap that still fails), `FIXED` (a known gap that now
passes: drop its `# known-gap:` line). Exits 1 when any case is FAIL or
FIXED, else 0. Standard library only.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BASE = os.path.join(REPO, "example_project")
KEYS = {"command", "exit", "kind", "warning", "location", "hint",
        "known-gap", "before", "failed-node", "clean"}


def split_args(text):
    """Splits a command line on spaces, keeping '...' and "..." together."""
    out, cur, quote, have = [], "", None, False
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
            else:
                cur += ch
        elif ch in "'\"":
            quote, have = ch, True
        elif ch.isspace():
            if cur or have:
                out.append(cur)
            cur, have = "", False
        else:
            cur += ch
    if cur or have:
        out.append(cur)
    return out


def parse_case(text):
    """The header (a dict; `before` is a list) and the patch operations."""
    head = {"before": []}
    ops = []
    current = None
    in_header = True
    for line in text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"):
        if line.startswith(("--- write ", "--- write-latin1 ", "--- delete ")):
            in_header = False
            if current:
                ops.append(current)
                current = None
            if line.startswith("--- write "):
                current = ("write", line[len("--- write "):].strip(), [])
            elif line.startswith("--- write-latin1 "):
                current = ("write-latin1", line[len("--- write-latin1 "):].strip(), [])
            else:
                ops.append(("delete", line[len("--- delete "):].strip(), None))
            continue
        if in_header:
            m = re.match(r"^# ([a-z-]+)(?::\s*(.*))?$", line)
            if m and m.group(1) in KEYS:
                key, value = m.group(1), (m.group(2) or "").strip()
                if key == "before":
                    head["before"].append(value)
                else:
                    head[key] = value
            continue
        if current:
            current[2].append(line)
    if current:
        ops.append(current)
    return head, ops


def copy_project(dst):
    def ignore(_dir, names):
        return [n for n in names
                if n in ("target", "logs") or n.endswith(".duckdb") or n.endswith(".wal")]
    shutil.copytree(BASE, dst, ignore=ignore)


def apply(root, ops):
    for op, rel, lines in ops:
        path = os.path.join(root, rel)
        if op == "delete":
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            encoding = "latin-1" if op == "write-latin1" else "utf-8"
            with open(path, "w", encoding=encoding, newline="") as f:
                f.write("".join(l + "\n" for l in lines))


def run(binary, tmp, root, args):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DBT_PROFILES_DIR", "DBT_PROJECT_DIR", "DBT_LOG_FORMAT", "DBT_LOG_LEVEL")}
    env["HOME"] = tmp
    env["NO_COLOR"] = "1"
    try:
        p = subprocess.run([binary] + args + ["--project-dir", root], cwd=tmp, env=env,
                           capture_output=True, timeout=300)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        return -9, "", (e.stderr or b"").decode("utf-8", "replace") + "\n[timed out]"


def diagnostics(stderr):
    """Diagnostics of a `--log-format json` stderr: structured ones (with
    data.kind) and the failed nodes, with what their summary block says.
    Each is a dict: level, kind, path, line, hint, node, status, msg."""
    diags, blocks, current = [], {}, None
    for raw in stderr.splitlines():
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        info, data = obj.get("info") or {}, obj.get("data") or {}
        msg = info.get("msg") or ""
        if isinstance(data, dict) and "kind" in data:
            loc = data.get("location") or {}
            diags.append({"level": info.get("level"), "kind": data.get("kind"),
                          "path": loc.get("path"), "line": loc.get("line"),
                          "hint": data.get("hint"), "node": None, "status": None, "msg": msg})
        elif isinstance(data, dict) and "node_info" in data:
            ni = data["node_info"]
            if ni.get("node_status") in ("error", "fail", "warn"):
                loc = data.get("location") or {}
                diags.append({"level": info.get("level"), "kind": data.get("kind"),
                              "path": loc.get("path"), "line": loc.get("line"),
                              "hint": data.get("hint"), "node": ni.get("unique_id"),
                              "status": ni.get("node_status"), "msg": msg})
        elif info.get("name") == "Line":
            m = re.match(r"^(Error|Failure|Warning) in \S+ (\S+) \(", msg)
            if m:
                current = blocks.setdefault(m.group(2), [])
            elif msg.startswith("Done. "):
                current = None
            elif current is not None:
                current.append(msg)
    # A failed node's location and hint are in its summary block (text).
    for d in diags:
        if d["node"] is None:
            continue
        parts = d["node"].split(".")
        # model.pkg.name, test.pkg.name.hash, unit_test.pkg.model.name
        name = parts[3] if parts[0] == "unit_test" and len(parts) > 3 else parts[min(2, len(parts) - 1)]
        for l in blocks.get(name, []):
            m = re.search(r"--> (\S+?):(\d+)(?::\d+)?\s*$", l)
            if m and d["path"] is None:
                d["path"], d["line"] = m.group(1), int(m.group(2))
            m = re.match(r"^\s*(?:= )?hint: (.+)", l)
            if m and not d["hint"]:
                d["hint"] = m.group(1)
    return diags


def relative(path, root):
    """A diagnostic's path relative to the project root (an absolute path
    into the project is accepted as the same place)."""
    if path and os.path.isabs(path):
        prefix = root.rstrip("/") + "/"
        if path.startswith(prefix):
            return path[len(prefix):]
    return path


def judge(head, code, stderr, root):
    """What the run got wrong against the case's header: a dict of column ->
    (ok: bool, detail) for the columns the header asks about."""
    want_exit = int(head.get("exit", "2"))
    diags = diagnostics(stderr)
    for d in diags:
        d["path"] = relative(d["path"], root)
    crash = code not in (0, 1, 2) or "panicked" in stderr or any(d["kind"] == "Internal" for d in diags)
    cols = {"exit": (code == want_exit, f"{want_exit}/{code}"), "crash": (not crash, "CRASH" if crash else "")}
    level = "warn" if "warning" in head else "error"
    want_kind = head.get("warning") or head.get("kind")
    cands = [d for d in diags if d["level"] == level and d["node"] is None]
    if "failed-node" in head:
        node = head["failed-node"]
        cands = [d for d in diags if d["node"] and (d["node"] == node or d["node"].startswith(node + "."))]
        cols["kind"] = (bool(cands), "node failed" if cands else f"no failure of {node}")
    elif want_kind:
        kinds = want_kind.split("|")  # `Config|Jinja`: either is right
        of_kind = [d for d in cands if d["kind"] in kinds]
        got = sorted({str(d["kind"]) for d in cands})
        cols["kind"] = (bool(of_kind), want_kind + ("" if of_kind else f" got {','.join(got) or 'none'}"))
        if of_kind:
            cands = of_kind
    if "clean" in head:
        noisy = [d for d in diags if d["level"] in ("error", "warn")]
        cols["clean"] = (not noisy, "" if not noisy else f"{noisy[0]['level']}: {noisy[0]['msg'][:60]}")
    if "location" in head:
        want = head["location"]
        path, _, line = want.rpartition(":")
        ok = any(d["path"] == path and str(d["line"]) == line for d in cands)
        got = next((f"{d['path']}:{d['line']}" for d in cands if d["path"]), "none")
        cols["location"] = (ok, "" if ok else f"got {got}")
    if "hint" in head:
        ok = any(d["hint"] for d in cands)
        cols["hint"] = (ok, "" if ok else "no hint")
    return cols


def check(binary, path):
    text = open(path, encoding="utf-8").read()
    head, ops = parse_case(text)
    tmp = tempfile.mkdtemp(prefix="corpus-")
    try:
        root = os.path.join(tmp, "example_project")
        copy_project(root)
        apply(root, ops)
        for before in head["before"]:
            run(binary, tmp, root, split_args(before))
        args = split_args(head.get("command", "compile")) + ["--log-format", "json", "--log-level", "info"]
        code, _out, err = run(binary, tmp, root, args)
        cols = judge(head, code, err, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    passed = all(ok is not False for ok, _ in cols.values())
    gap = "known-gap" in head
    verdict = ("FIXED" if passed else "gap") if gap else ("ok" if passed else "FAIL")
    return os.path.basename(path)[:-4], head, cols, verdict, err


def main():
    argv = sys.argv[1:]
    if not argv:
        print(__doc__)
        return 2
    binary = os.path.abspath(argv[0])
    verbose = "-v" in argv
    filters = [a for a in argv[1:] if a != "-v"]
    cases = sorted(os.path.join(HERE, f) for f in os.listdir(HERE) if f.endswith(".txt"))
    if filters:
        cases = [c for c in cases if any(f in os.path.basename(c) for f in filters)]
    with ThreadPoolExecutor(max_workers=int(os.environ.get("CORPUS_JOBS", "2"))) as pool:
        results = list(pool.map(lambda c: check(binary, c), cases))

    def cell(cols, key):
        if key not in cols:
            return "-"
        ok, detail = cols[key]
        return ("ok" if ok else "NO") + (f" {detail}" if detail and (not ok or key == "exit") else "")

    rows = [("case", "exit want/got", "location", "hint", "kind", "crash", "verdict")]
    for name, head, cols, verdict, _ in results:
        rows.append((name, cell(cols, "exit"), cell(cols, "location"), cell(cols, "hint"),
                     cell(cols, "kind") if "clean" not in cols else cell(cols, "clean"),
                     "CRASH" if not cols["crash"][0] else "", verdict))
    widths = [min(max(len(r[i]) for r in rows), 48) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c[:48].ljust(w) for c, w in zip(r, widths)).rstrip())
    tally = {}
    for _, _, _, v, _ in results:
        tally[v] = tally.get(v, 0) + 1
    print()
    print(f"{len(results)} cases: " + ", ".join(f"{v}={n}" for v, n in sorted(tally.items())))
    if verbose:
        for name, head, cols, verdict, err in results:
            if verdict == "ok" and len(filters) == 0:
                continue
            print(f"\n=== {name} [{verdict}] {head.get('known-gap', '')}")
            for l in err.splitlines():
                try:
                    obj = json.loads(l)
                except ValueError:
                    print("  RAW " + l)
                    continue
                lvl = obj.get("info", {}).get("level")
                if lvl in ("error", "warn") or obj.get("data", {}).get("kind"):
                    print(f"  {lvl} {obj['info'].get('msg')}")
                    d = obj.get("data", {})
                    if "kind" in d:
                        print(f"    kind={d.get('kind')} loc={d.get('location')} hint={d.get('hint')}")
                elif any(s in (obj.get("info", {}).get("msg") or "") for s in ("-->", "hint:", "rror")):
                    print(f"  | {obj['info'].get('msg')}")
    return 1 if any(v in ("FAIL", "FIXED") for _, _, _, v, _ in results) else 0


if __name__ == "__main__":
    sys.exit(main())
