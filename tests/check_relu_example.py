#!/usr/bin/env python3
"""Run the seed example into a temporary folder and check what it wrote.

The JSON must be exactly what the seed's Python writes: keys x, y, yp in
that order, json.dump(..., indent=4) layout, so that re-dumping the parsed
file reproduces it byte for byte; the values must be relu and its gradient
on linspace(-2, 2, 1000). The SVG must be well-formed XML with the title.
Usage: check_relu_example.py PATH_TO_RELU_BINARY
"""
import json
import os
import shlex
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

# Under `meson test --setup valgrind`, the programs run under valgrind.
WRAP = shlex.split(os.environ.get("TG_RUN_WRAPPER", ""))


def fail(msg):
    print("not ok - " + msg)
    sys.exit(1)


def main():
    print("1..1")
    exe = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "nested" / "activations"
        run = subprocess.run(WRAP + [exe, "--out", str(out)], capture_output=True,
                             text=True, check=False)
        if run.returncode != 0:
            fail("relu exited %d: %s" % (run.returncode, run.stderr))
        for name in ("relu.json", "relu.svg"):
            if str(out / name) not in run.stdout:
                fail("output does not say where it wrote " + name)
        text = (out / "relu.json").read_text()
        data = json.loads(text)
        if list(data) != ["x", "y", "yp"]:
            fail("keys are %s" % list(data))
        if json.dumps(data, indent=4) != text:
            fail("re-dumping the JSON does not reproduce it byte for byte")
        x, y, yp = data["x"], data["y"], data["yp"]
        if not len(x) == len(y) == len(yp) == 1000:
            fail("lengths %d %d %d" % (len(x), len(y), len(yp)))
        if x[0] != -2.0 or x[-1] != 2.0:
            fail("endpoints %r %r" % (x[0], x[-1]))
        for i in range(1000):
            exact = -2.0 + 4.0 * i / 999
            if abs(x[i] - exact) > 2.4e-7 * max(abs(exact), 1e-3):
                fail("x[%d] = %r, expected about %r" % (i, x[i], exact))
            if x[i] != -x[999 - i]:
                fail("x is not symmetric at %d" % i)
            if y[i] != max(x[i], 0.0):
                fail("y[%d] = %r for x = %r" % (i, y[i], x[i]))
            if yp[i] != (1.0 if x[i] > 0 else 0.0):
                fail("yp[%d] = %r for x = %r" % (i, yp[i], x[i]))
        root = ET.parse(out / "relu.svg").getroot()
        if not root.tag.endswith("svg"):
            fail("relu.svg's root is <%s>" % root.tag)
        if "ReLU" not in "".join(root.itertext()):
            fail("relu.svg has no title ReLU")
        bad = subprocess.run(WRAP + [exe, "--steps", "x"], capture_output=True,
                             text=True, check=False)
        if bad.returncode != 2 or "--steps" not in bad.stderr:
            fail("a bad --steps is not a usage error")
    print("ok - relu example writes the seed's JSON and SVG")


if __name__ == "__main__":
    main()
