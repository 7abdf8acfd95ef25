#!/usr/bin/env python3
"""Run micrograd's demo (examples/moons) and check it learns and saves.

It must end at 100% training accuracy with the default seed, write a
well-formed SVG of the decision boundary, and save a model that numpy
loads with the shapes of an MLP 2-16-16-1 (the numpy part is skipped when
numpy is not installed).
Usage: check_moons_example.py PATH_TO_MOONS_BINARY [MOONS_CSV]
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import tap  # tests/tap.py

# Under `meson test --setup valgrind`, the programs run under valgrind.
WRAP = shlex.split(os.environ.get("TG_RUN_WRAPPER", ""))

results = []


def check(ok, what):
    results.append((ok, what))


def run(exe, out, *extra):
    return subprocess.run(WRAP + [exe, "--out", str(out), *extra],
                          capture_output=True, text=True, check=False)


def main():
    exe = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        r = run(exe, tmp)
        check(r.returncode == 0, "moons runs (%s)" % r.stderr.strip())
        m = re.search(r"accuracy ([0-9.]+)%", r.stdout.splitlines()[-3]
                      if len(r.stdout.splitlines()) >= 3 else "")
        check(m is not None and float(m.group(1)) == 100.0,
              "ends at 100%% training accuracy: %s" % r.stdout[-200:])
        check("step   0" in r.stdout and "step  90" in r.stdout,
              "prints loss and accuracy as it trains")
        svg, npz = Path(tmp) / "moons.svg", Path(tmp) / "moons.npz"
        check(str(svg) in r.stdout and str(npz) in r.stdout,
              "prints the paths it wrote")
        try:
            root = ET.parse(svg).getroot()
            check(root.tag.endswith("svg") and len(root.findall(
                ".//{http://www.w3.org/2000/svg}circle")) == 100,
                "the SVG shows the 100 points")
        except (OSError, ET.ParseError) as e:
            check(False, "the SVG parses: %s" % e)
        try:
            import numpy as np
            z = np.load(npz)
            shapes = {k: z[k].shape for k in z.files}
            check(shapes == {"l0.weight": (16, 2), "l0.bias": (16,),
                             "l1.weight": (16, 16), "l1.bias": (16,),
                             "l2.weight": (1, 16), "l2.bias": (1,)},
                  "numpy loads the model: %s" % shapes)
        except ImportError:
            results.append((None, "numpy is not installed"))
        if len(sys.argv) > 2:
            r = run(exe, tmp, "--csv", sys.argv[2], "--quiet")
            check(r.returncode == 0 and "accuracy 100.0%" in r.stdout,
                  "reaches 100%% on micrograd's exact data: %s" % r.stdout)
        bad = run(exe, tmp, "--csv", str(Path(tmp) / "missing.csv"))
        check(bad.returncode != 0 and "missing.csv" in bad.stderr,
              "a missing CSV is a clear error")
    sys.exit(tap.report(results))


if __name__ == "__main__":
    main()
