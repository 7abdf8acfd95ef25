#!/usr/bin/env python3
"""The seed example's --trace and --dot FILE.

--trace must print backward's steps in order (sum's entry first, then
relu's, each with the gradient it receives and what it passes on); --dot
must write the tape after backward as a Graphviz graph with a box per
tensor (value and gradient) and an ellipse per op, wired x -> relu -> y
-> sum. When Graphviz's dot is installed, the file must also render to a
well-formed SVG (otherwise that check is a TAP SKIP).
Usage: check_relu_inspect.py PATH_TO_RELU_BINARY
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

# Under `meson test --setup valgrind`, the programs run under valgrind.
WRAP = shlex.split(os.environ.get("TG_RUN_WRAPPER", ""))

TRACE = [
    "backward #1 sum: d root / d #1 () f32 = [1]",
    "    passes to input 0 (y (5,) f32): [1, 1, 1, 1, 1]",
    "backward #0 relu: d root / d y (5,) f32 = [1, 1, 1, 1, 1]",
    "    passes to input 0 (x (5,) f32): [0, 0, 0, 1, 1]",
]


def ok(n, msg):
    print("ok %d - %s" % (n, msg))


def not_ok(n, msg):
    print("not ok %d - %s" % (n, msg))
    return False


def check_trace(exe, tmp):
    out = tmp / "out"
    run = subprocess.run(WRAP + [exe, "--out", str(out), "--steps", "5", "--trace"],
                         capture_output=True, text=True, check=False)
    if run.returncode != 0:
        return not_ok(1, "relu --trace exited %d: %s" % (run.returncode,
                                                         run.stderr))
    lines = run.stdout.split("\n")
    if lines[:4] != TRACE:
        return not_ok(1, "the trace is\n# " + "\n# ".join(lines[:6]))
    quiet = subprocess.run(WRAP + [exe, "--out", str(out), "--steps", "5"],
                           capture_output=True, text=True, check=False)
    if quiet.returncode != 0 or "backward #" in quiet.stdout:
        return not_ok(1, "without --trace, backward is still traced")
    ok(1, "--trace prints backward's steps, root first")
    return True


def parse_dot(text):
    """Nodes (id -> label) and edges of the dot file tg_tape_dot writes."""
    nodes = dict(re.findall(r'^\s*(\w+) \[[^\]]*label="([^"]*)"', text, re.M))
    edges = re.findall(r"^\s*(\w+) -> (\w+);", text, re.M)
    return nodes, edges


def check_dot(exe, tmp):
    dot = tmp / "graphs" / "tape.dot"
    dot.parent.mkdir()
    run = subprocess.run(WRAP + [exe, "--out", str(tmp / "out"), "--steps", "5",
                          "--dot", str(dot)],
                         capture_output=True, text=True, check=False)
    if run.returncode != 0:
        return not_ok(2, "relu --dot exited %d: %s" % (run.returncode,
                                                       run.stderr))
    if "wrote %s" % dot not in run.stdout:
        return not_ok(2, "relu --dot does not say it wrote " + str(dot))
    text = dot.read_text()
    if not text.startswith("digraph tape {") or not text.endswith("}\n"):
        return not_ok(2, "tape.dot is not one digraph")
    nodes, edges = parse_dot(text)
    by_label = {}
    for node, label in nodes.items():
        by_label[label.split(" ")[0].lstrip("{")] = node
    want = {
        "x": "{x (5,) f32 | value [-2, -1, 0, 1, 2] | grad [0, 0, 0, 1, 1]}",
        "y": "{y (5,) f32 | value [0, 0, 0, 1, 2] | grad [1, 1, 1, 1, 1]}",
        "relu": "relu",
        "sum": "sum",
    }
    for name, label in want.items():
        if name not in by_label or nodes[by_label[name]] != label:
            return not_ok(2, "no node labelled %r in\n# %s" % (
                label, text.replace("\n", "\n# ")))
    x, y, relu, total = (by_label[k] for k in ("x", "y", "relu", "sum"))
    for edge in [(x, relu), (relu, y), (y, total)]:
        if edge not in edges:
            return not_ok(2, "no edge %s -> %s" % edge)
    ok(2, "--dot writes the tape: x -> relu -> y -> sum, values and grads")
    return True


def check_render(tmp):
    dot = shutil.which("dot")
    if dot is None:
        print("ok 3 # SKIP Graphviz's dot is not installed")
        return True
    svg = tmp / "tape.svg"
    run = subprocess.run([dot, "-Tsvg", str(tmp / "graphs" / "tape.dot"),
                          "-o", str(svg)],
                         capture_output=True, text=True, check=False)
    if run.returncode != 0:
        return not_ok(3, "dot -Tsvg failed: " + run.stderr)
    text = "".join(ET.parse(svg).getroot().itertext())
    if "relu" not in text or "grad [0, 0, 0, 1, 1]" not in text:
        return not_ok(3, "the rendered SVG lacks the relu node or x's grad")
    ok(3, "dot -Tsvg renders it")
    return True


def check_bad_path(exe, tmp):
    bad = tmp / "missing" / "folder" / "tape.dot"
    run = subprocess.run(WRAP + [exe, "--out", str(tmp / "out"), "--steps", "5",
                          "--dot", str(bad)],
                         capture_output=True, text=True, check=False)
    if run.returncode != 1 or str(bad) not in run.stderr:
        return not_ok(4, "an unwritable --dot path: exit %d, %r" % (
            run.returncode, run.stderr))
    ok(4, "an unwritable --dot path fails, naming it")
    return True


def main():
    print("1..4")
    exe = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        results = [check_trace(exe, tmp), check_dot(exe, tmp)]
        results += [check_render(tmp) if results[-1] else not_ok(3, "no dot"),
                    check_bad_path(exe, tmp)]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
