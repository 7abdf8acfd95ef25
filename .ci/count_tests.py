#!/usr/bin/env python3
"""count_tests.py — total the test results of every CI run from meson's logs.

Every `meson test` run writes BUILDDIR/meson-logs/testlog.json (or
testlog-SETUP.json with --setup SETUP): one JSON object per test, with its
result and its captured stdout. A TAP test (the Check suites, `protocol:
'tap'`) counts once per subtest, read from its `ok N - ...` / `not ok N`
lines; any other test counts once. A TAP test that failed although none of
its subtests did (valgrind's exit code 99 after all cases passed, a crash
after the last case, a wrong plan) adds one failure of its own, so such a
failure can never vanish from the totals.

Usage:
    count_tests.py --runs RUNS.tsv      what .ci/run recorded (see there)
    count_tests.py LOG.json...          just these logs, one run each
    count_tests.py --failures LOG.json  print the output of failed tests
    count_tests.py --slowest N LOG.json  the N longest tests and their seconds

The last line printed is `N passed, N failed` (`, N skipped` when any
were skipped). Exit status: 1 if anything failed or no test ran, else 0.
"""
import json
import os
import re
import sys

PASSED = {"OK", "EXPECTEDFAIL"}
SKIPPED = {"SKIP"}
# Everything else (FAIL, UNEXPECTEDPASS, TIMEOUT, INTERRUPT, ERROR) failed.

TAP_LINE = re.compile(r"^(not )?ok\b[^#]*(?:#\s*(\w+))?", re.IGNORECASE)
TAP_PLAN = re.compile(r"^1\.\.\d+")


class Tally:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def add(self, other):
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped

    @property
    def total(self):
        return self.passed + self.failed + self.skipped

    def line(self):
        s = f"{self.passed} passed, {self.failed} failed"
        if self.skipped:
            s += f", {self.skipped} skipped"
        return s


def read_jsonl(path):
    """The objects of a JSON-lines file; a torn last line is ignored."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    return out


def protocols(log_path):
    """Test name -> protocol, from the build dir's meson introspection.

    The log names a test "project:suite / name" when the project has more
    than one suite and plain "name" otherwise, so both spellings are keys.
    """
    build = os.path.dirname(os.path.dirname(os.path.abspath(log_path)))
    intro = os.path.join(build, "meson-info", "intro-tests.json")
    table = {}
    try:
        with open(intro, encoding="utf-8") as f:
            tests = json.load(f)
    except (OSError, ValueError):
        return table
    for t in tests:
        proto = t.get("protocol", "exitcode")
        table[t["name"]] = proto
        suites = t.get("suite") or []
        if suites:
            project = suites[0].split(":", 1)[0]
            names = "+".join(s.split(":", 1)[-1] for s in suites)
            table[f"{project}:{names} / {t['name']}"] = proto
    return table


def tap_tally(stdout):
    """Count the top-level TAP result lines of one test's output."""
    t = Tally()
    for line in (stdout or "").splitlines():
        if line.startswith("Bail out!"):
            t.failed += 1
            continue
        m = TAP_LINE.match(line)
        if not m:
            continue
        bad = m.group(1) is not None
        directive = (m.group(2) or "").upper()
        if directive.startswith("SKIP"):
            t.skipped += 1
        elif directive.startswith("TODO"):
            # Meson's rule: a failing TODO is expected, a passing one is not.
            if bad:
                t.passed += 1
            else:
                t.failed += 1
        elif bad:
            t.failed += 1
        else:
            t.passed += 1
    return t


def test_tally(test, proto):
    """The tally of one test record of a testlog."""
    result = test.get("result", "ERROR")
    stdout = test.get("stdout") or ""
    is_tap = proto == "tap" or (proto is None and any(
        TAP_PLAN.match(l) for l in stdout.splitlines()))
    t = Tally()
    if is_tap:
        t = tap_tally(stdout)
        if result not in PASSED | SKIPPED and t.failed == 0:
            t.failed += 1          # failed outside any subtest
        elif result in SKIPPED and t.total == 0:
            t.skipped += 1         # a whole-file skip (plan 1..0)
        elif t.total == 0 and result in PASSED:
            t.passed += 1          # a TAP test that printed no case
        return t
    if result in PASSED:
        t.passed = 1
    elif result in SKIPPED:
        t.skipped = 1
    else:
        t.failed = 1
    return t


def log_tally(path):
    """The tally of one testlog*.json; missing or empty logs count nothing."""
    total = Tally()
    if not os.path.exists(path):
        return total
    table = protocols(path)
    for test in read_jsonl(path):
        total.add(test_tally(test, table.get(test.get("name"))))
    return total


def show_slowest(path, n):
    """The n longest tests of a log, longest first, with the log's sum: the
    places to look when a step's time grows (tests run in parallel, so
    the step takes about the sum over the number of processes)."""
    tests = sorted(((t.get("duration") or 0.0, t.get("name", "?"))
                    for t in read_jsonl(path)), reverse=True)
    print(f"slowest tests of {path} ({len(tests)} tests, "
          f"{sum(d for d, _ in tests):.0f}s in all):")
    for secs, name in tests[:n]:
        print(f"  {secs:8.1f}s  {name}")


def show_failures(path, max_lines=80):
    """Print the name and the tail of the output of every failed test."""
    table = protocols(path)
    for test in read_jsonl(path):
        if test_tally(test, table.get(test.get("name"))).failed == 0:
            continue
        print(f"--- {test.get('name')}: {test.get('result')} "
              f"(exit {test.get('returncode')}) ---")
        for key in ("stdout", "stderr"):
            text = (test.get(key) or "").rstrip("\n")
            if not text:
                continue
            lines = text.splitlines()
            if len(lines) > max_lines:
                print(f"[{key}: last {max_lines} of {len(lines)} lines]")
                lines = lines[-max_lines:]
            print("\n".join(lines))


def runs_from_tsv(path):
    """Steps in order, from the tab-separated records .ci/run writes.

    Records: `step NAME RC SECONDS` when a step ends, `log NAME PATH` for
    each meson test log a step produced, `count NAME P F S` for results a
    step counted itself (a fuzzer, say).
    """
    steps = {}
    order = []

    def get(name):
        if name not in steps:
            steps[name] = {"rc": None, "secs": None, "logs": [], "counts": []}
            order.append(name)
        return steps[name]

    with open(path, encoding="utf-8") as f:
        for raw in f:
            rec = raw.rstrip("\n").split("\t")
            if len(rec) < 3:
                continue
            kind, name = rec[0], rec[1]
            s = get(name)
            if kind == "step":
                s["rc"] = int(rec[2])
                s["secs"] = rec[3] if len(rec) > 3 else None
            elif kind == "log":
                s["logs"].append(rec[2])
            elif kind == "count" and len(rec) >= 5:
                s["counts"].append(tuple(int(x) for x in rec[2:5]))
    return [(name, steps[name]) for name in order]


def summarize_runs(path):
    """Per-step subtotals, then the grand total; returns the total."""
    grand = Tally()
    for name, s in runs_from_tsv(path):
        t = Tally()
        for log in s["logs"]:
            t.add(log_tally(log))
        for p, f, k in s["counts"]:
            t.passed += p
            t.failed += f
            t.skipped += k
        note = ""
        rc = s["rc"]
        if rc is None:
            note = " (did not finish)"
            t.failed += 0 if t.failed else 1
        elif rc != 0 and t.failed == 0:
            # The build or the runner broke before any test could fail.
            t.failed += 1
            note = f" (step failed with exit {rc}: counted as 1 failure)"
        secs = f" in {s['secs']}s" if s["secs"] else ""
        if t.total == 0 and rc == 0:
            print(f"  {name}: ok, no tests{secs}")
        else:
            print(f"  {name}: {t.line()}{secs}{note}")
        grand.add(t)
    return grand


def main(argv):
    if len(argv) == 3 and argv[0] == "--slowest":
        show_slowest(argv[2], int(argv[1]))
        return 0
    if len(argv) >= 2 and argv[0] == "--failures":
        for p in argv[1:]:
            show_failures(p)
        return 0
    print("Test results:")
    if len(argv) == 2 and argv[0] == "--runs":
        total = summarize_runs(argv[1])
    else:
        total = Tally()
        for p in argv:
            t = log_tally(p)
            print(f"  {p}: {t.line()}")
            total.add(t)
    if total.total == 0:
        print("no test ran")
    print(total.line())
    return 1 if total.failed or total.total == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
