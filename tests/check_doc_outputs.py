#!/usr/bin/env python3
"""Run the example programs whose output README.md and docs/*.md quote,
and check that they still print what the page says.

check_docs.py compiles the pages' C blocks and compares what they print;
the example programs' figures (an epoch's loss and accuracy, an evaluation
loss, the words a model makes up) are quoted as text, and went stale when
the numerics changed. A quotation is a ```text block right after a comment
that names the command a reader would type:

    <!-- output-of: build/examples/names --steps 1000 -->

The command runs in a temporary folder (so what it writes goes there),
with `build/` standing for the build folder. Its standard output must
contain the block's lines, consecutive and in order; a line `...` in the
block skips any number of output lines. Timings are not compared: a
number followed by `s`, `ms`, `ms/step`, `ms per step`, `images/s` or
`samples/s` reads as `<t>` on both sides. The programs are deterministic
(the same figures for any thread count), so everything else must match
to the last printed digit.

A program that is not built (zlib missing), or exits saying which package
to install (no dataset-fashion-mnist or wamerican), is a TAP SKIP, and so
is every block under valgrind or a sanitizer (these are full training
runs, seconds each natively), on a processor without AVX-512 and in a
build whose matrix products go through CBLAS (-Dblas): the pages quote
the project's machine and its own matrix kernel, and the library's AVX2
loops or another BLAS may round some sums differently, which thousands
of steps can carry into the printed digits.

Usage: check_doc_outputs.py --root SRC --build BUILD [--only PROGRAM]
                            [--sanitize OPT] [--gemm own|cblas]
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import tap  # tests/tap.py

MARK = re.compile(r"^<!-- output-of: (.+?) -->\s*$")
TIME = re.compile(r"\b\d+(?:\.\d+)?(?= ?(?:s\b|ms\b|ms/step|ms per step|"
                  r"images/s|samples/s))")


def quotations(root):
    """(page, line, command, expected lines) for every marked block."""
    pages = [root / "README.md"] + sorted((root / "docs").glob("*.md"))
    for page in pages:
        lines = page.read_text(encoding="utf-8").split("\n")
        for i, line in enumerate(lines):
            m = MARK.match(line)
            if not m:
                continue
            if i + 1 >= len(lines) or lines[i + 1].strip() != "```text":
                yield page, i + 1, m.group(1), None
                continue
            end = i + 2
            while end < len(lines) and lines[end].strip() != "```":
                end += 1
            yield page, i + 1, m.group(1), lines[i + 2:end]


def normal(line):
    return TIME.sub("<t>", line.rstrip())


def contains(output, block):
    """Whether output (lines) holds block's segments, split at `...`
    lines, each as consecutive lines and in order. Returns the first
    segment not found, or None."""
    segments, seg = [], []
    for line in block:
        if line.strip() == "...":
            segments.append(seg)
            seg = []
        else:
            seg.append(normal(line))
    segments.append(seg)
    out = [normal(x) for x in output]
    at = 0
    for seg in segments:
        if not seg:
            continue
        found = next((k for k in range(at, len(out) - len(seg) + 1)
                      if out[k:k + len(seg)] == seg), None)
        if found is None:
            return seg
        at = found + len(seg)
    return None


def check_one(root, build, page, lineno, command, block, skip_all):
    where = "%s:%d: %s" % (page.relative_to(root), lineno, command)
    if block is None:
        return False, where + ": no ```text block right after the marker"
    argv = shlex.split(command)
    if not argv[0].startswith("build/"):
        return False, where + ": the command must start with build/"
    exe = build / argv[0][len("build/"):]
    if skip_all:
        return None, where + ": " + skip_all
    if not exe.exists():
        return None, where + ": %s is not built" % argv[0]
    with tempfile.TemporaryDirectory(prefix="tg-doc-out-") as tmp:
        r = subprocess.run([str(exe)] + argv[1:], cwd=tmp, text=True,
                           capture_output=True, timeout=600)
    if r.returncode != 0 and "apt-get install" in r.stderr:
        return None, where + ": " + r.stderr.strip().splitlines()[-1]
    if r.returncode != 0:
        return False, where + ": exit %d: %s" % (r.returncode,
                                                  r.stderr.strip()[-300:])
    missing = contains(r.stdout.split("\n"), block)
    if missing is not None:
        return False, "%s: the page says %r; the program printed %r" % (
            where, missing, r.stdout[-600:])
    return True, where


def has_avx512():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return any(line.startswith("flags") and " avx512f" in line
                       for line in f)
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True, type=Path)
    ap.add_argument("--build", required=True, type=Path)
    ap.add_argument("--only", help="check the blocks of this program only")
    ap.add_argument("--sanitize", default="none")
    ap.add_argument("--gemm", default="own", choices=("own", "cblas"))
    ap.add_argument("--optimization", default="2")
    a = ap.parse_args()
    a.root, a.build = a.root.resolve(), a.build.resolve()
    skip_all = None
    if os.environ.get("TG_RUN_WRAPPER"):
        skip_all = "full training runs are too slow under valgrind"
    elif a.sanitize not in ("", "none"):
        skip_all = "full training runs are too slow under -Db_sanitize"
    elif a.optimization in ("0", "g"):
        skip_all = ("full training runs take minutes in an unoptimized "
                    "build (meson setup --buildtype=release checks them)")
    elif a.gemm != "own":
        skip_all = "the figures are tapegrad's own matrix kernel's, not CBLAS's"
    elif not has_avx512():
        skip_all = "the figures are the project's AVX-512 machine's"
    results = []
    for page, lineno, command, block in quotations(a.root):
        prog = os.path.basename(shlex.split(command)[0])
        if a.only and prog != a.only:
            continue
        results.append(check_one(a.root, a.build, page, lineno, command,
                                 block, skip_all))
    if not results:
        results.append((False, "no output-of blocks%s" %
                        (" of " + a.only if a.only else "")))
    return tap.report(results)


if __name__ == "__main__":
    sys.exit(main())
