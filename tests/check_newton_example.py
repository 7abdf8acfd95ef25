#!/usr/bin/env python3
"""Run examples/newton and check that Newton's method beats gradient descent.

newton fits one logistic regression twice, by Newton-CG on tg_hvp and by
gradient descent, to the same gradient tolerance. Checked here:
- both reach |g| < tol (the last printed step of each);
- Newton takes at most 15 steps, and gradient descent at least 20 times as
  many;
- Newton's |g| falls superlinearly at the end (each of its last two steps
  at least squares the ratio |g| / |g_0|, to within a factor of 10), which
  a wrong Hessian-vector product would not give;
- the two minimisers agree: the same f to 1e-12, |w_newton - w_gd| < 1e-5.
  Gradient descent uses first derivatives only, so this checks the
  Hessian-vector products against an independent path;
- a bad option is a usage error (exit 2).
Usage: check_newton_example.py NEWTON
"""
import os
import re
import shlex
import subprocess
import sys

import tap  # tests/tap.py

WRAP = shlex.split(os.environ.get("TG_RUN_WRAPPER", ""))
STEP = re.compile(r"^(newton|gd)\s+step\s+(\d+)\s+f = (\S+)\s+\|g\| = (\S+)$",
                  re.M)
SUMMARY = re.compile(
    r"^summary: newton (\d+) steps \((\d+) Hessian-vector products\), "
    r"gradient descent (\d+) steps, to \|g\| < (\S+); f = (\S+) and (\S+); "
    r"\|w_newton - w_gd\| = (\S+)$", re.M)


class Failed(Exception):
    pass


def run(exe, *args):
    return subprocess.run(WRAP + [exe] + list(args), capture_output=True,
                          text=True, check=False)


def check_run(exe):
    r = run(exe)
    if r.returncode != 0:
        raise Failed("newton exited %d: %s" % (r.returncode, r.stderr))
    found = SUMMARY.search(r.stdout)
    if found is None:
        raise Failed("no summary line in:\n" + r.stdout[-2000:])
    n_newton, n_hvp, n_gd = (int(found.group(i)) for i in (1, 2, 3))
    tol, f_newton, f_gd, dist = (float(found.group(i)) for i in (4, 5, 6, 7))
    steps = {"newton": [], "gd": []}
    for m in STEP.finditer(r.stdout):
        steps[m.group(1)].append((int(m.group(2)), float(m.group(4))))
    for name, n in (("newton", n_newton), ("gd", n_gd)):
        if not steps[name] or steps[name][-1][0] != n:
            raise Failed("%s: the last printed step is not step %d" % (
                name, n))
        if not steps[name][-1][1] < tol:
            raise Failed("%s stopped at |g| = %g, not below %g" % (
                name, steps[name][-1][1], tol))
    if n_newton > 15 or n_gd < 20 * n_newton:
        raise Failed("newton took %d steps and gradient descent %d" % (
            n_newton, n_gd))
    g = [s[1] / steps["newton"][0][1] for s in steps["newton"]]
    for k in (-1, -2):
        if g[k] > 10 * g[k - 1] ** 2:
            raise Failed("newton's |g| ratios %s do not fall quadratically"
                         % g)
    if abs(f_newton - f_gd) > 1e-12 * abs(f_gd) or dist >= 1e-5:
        raise Failed("the minimisers differ: f %r and %r, |dw| = %g" % (
            f_newton, f_gd, dist))
    return "newton %d steps (%d HVPs), gradient descent %d, same minimum" \
        % (n_newton, n_hvp, n_gd)


def check_usage(exe):
    r = run(exe, "--tol", "0")
    if r.returncode != 2 or "--tol" not in r.stderr:
        raise Failed("--tol 0 exited %d: %s" % (r.returncode, r.stderr))
    return "a bad option is a usage error"


def main():
    exe = sys.argv[1]
    tap.run_in_order([lambda c=c: c(exe) for c in (check_run, check_usage)],
                     (Failed, OSError, ValueError,
                      subprocess.SubprocessError))


if __name__ == "__main__":
    main()
