#!/usr/bin/env python3
"""check_docs.py must fail on a header example that does not compile.

Runs tests/check_docs.py on a scratch repository whose one header holds
an example that compiles and runs, one with a `...` elision, one calling
tg_cross_entropy with 4 arguments (it takes 3), and one right after a
prose line (which would go unchecked). The test passes when check_docs.py
exits 1 and reports exactly the first as ok and the other three as not ok.

Usage: check_docs_selftest.py CHECK_DOCS.PY ARGS... (the docs test's
arguments; --root is replaced by the scratch repository).
"""
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HEADER = r"""/*
 * demo.h - examples for the self-test.
 *
 *     tg_tensor *x = tg_linspace(t, TG_F64, -1.0, 1.0, 3);
 *     if (tg_numel(x) != 3)
 *         return 1;
 *
 * An elision:
 *
 *     tg_tensor *y = tg_relu(t, tg_scalar(t, TG_F32, 1.0));
 *     ... y = x * x ...
 *
 * A call with one argument too many:
 *
 *     tg_tensor *x = tg_zeros(t, TG_F32, 2, (int64_t[]){2, 3});
 *     tg_tensor *loss = tg_cross_entropy(t, x, (int64_t[]){0, 1}, 2);
 *
 * Prose, then an example with no blank line:
 *     int unchecked = 0;
 */
"""

EXPECT = {4: "ok", 10: "not ok", 15: "not ok", 19: "not ok"}


def main():
    script, args = sys.argv[1], sys.argv[2:]
    k = args.index("--root")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "include" / "tapegrad").mkdir(parents=True)
        (root / "include" / "tapegrad" / "demo.h").write_text(HEADER)
        cmd = [sys.executable, script] + args[:k + 1] + [tmp] + args[k + 2:]
        r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    print("1..2")
    seen = {}
    for line in r.stdout.split("\n"):
        m = re.match(r"^(ok|not ok) \d+ - include/tapegrad/demo\.h:(\d+)",
                     line)
        if m:
            seen[int(m.group(2))] = m.group(1)
    ok = r.returncode == 1
    print("%s 1 - check_docs.py exits 1 (it exited %d)" % (
        "ok" if ok else "not ok", r.returncode))
    ok = seen == EXPECT
    print("%s 2 - each example judged as expected%s" % (
        "ok" if ok else "not ok", "" if ok else ":\n# expected %s\n# got %s\n%s"
        % (EXPECT, seen, "\n".join("# " + ln for ln in r.stdout.split("\n")))))


if __name__ == "__main__":
    main()
