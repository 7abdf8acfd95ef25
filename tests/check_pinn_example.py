#!/usr/bin/env python3
"""Run examples/pinn and check that it solves u' = -u, u(0) = 1.

- Trained (the defaults): the max error against exp(-x) on [0, 2] that it
  prints is below 1e-2, and the loss fell at least a thousandfold from
  step 0.
- The same network after one step is far from exp(-x) (error above 1e-2):
  the first check measures the training, not a lucky initialisation.
- Two runs with the same seed print the same output (seeded, no threads'
  order in the result).
- A bad option is a usage error (exit 2).
Usage: check_pinn_example.py PINN
"""
import os
import re
import shlex
import subprocess
import sys

import tap  # tests/tap.py

WRAP = shlex.split(os.environ.get("TG_RUN_WRAPPER", ""))
FINAL = re.compile(r"^trained (\d+) steps: loss (\S+), max \|u\(x\) - "
                   r"exp\(-x\)\| on \[0, 2\] = (\S+) \(at x = (\S+)\)$", re.M)
STEP0 = re.compile(r"^step\s+0  loss (\S+)$", re.M)


class Failed(Exception):
    pass


def run(exe, *args):
    r = subprocess.run(WRAP + [exe] + list(args), capture_output=True,
                       text=True, check=False)
    return r


def final(r):
    if r.returncode != 0:
        raise Failed("pinn exited %d: %s" % (r.returncode, r.stderr))
    found = FINAL.search(r.stdout)
    if found is None:
        raise Failed("no final line in:\n" + r.stdout[-2000:])
    return float(found.group(2)), float(found.group(3))


def check_trained(exe):
    r = run(exe)
    loss, err = final(r)
    start = STEP0.search(r.stdout)
    if start is None:
        raise Failed("no step 0 line")
    if not err < 1e-2:
        raise Failed("max error %g, not below 1e-2" % err)
    if not loss < 1e-3 * float(start.group(1)):
        raise Failed("loss went from %s to %g only" % (start.group(1), loss))
    return "max |u - exp(-x)| = %.3g < 1e-2; loss %s -> %.3g" % (
        err, start.group(1), loss)


def check_untrained(exe):
    _, err = final(run(exe, "--steps", "1", "--quiet"))
    if not err > 1e-2:
        raise Failed("after one step the error is already %g" % err)
    return "after one step the error is %.3g: the training does the work" \
        % err


def check_seeded(exe):
    a = run(exe, "--steps", "50", "--seed", "3").stdout
    b = run(exe, "--steps", "50", "--seed", "3").stdout
    if a != b or not a:
        raise Failed("two runs with seed 3 differ")
    return "the same seed gives the same run"


def check_usage(exe):
    r = run(exe, "--steps", "0")
    if r.returncode != 2 or "--steps" not in r.stderr:
        raise Failed("--steps 0 exited %d: %s" % (r.returncode, r.stderr))
    return "a bad option is a usage error"


def main():
    exe = sys.argv[1]
    tap.run_in_order([lambda c=c: c(exe) for c in (check_trained, check_untrained, check_seeded, check_usage)],
                     (Failed, OSError, ValueError,
                      subprocess.SubprocessError))


if __name__ == "__main__":
    main()
