#!/usr/bin/env python3
"""The Python half of npy_interop.c: NumPy checks tapegrad's files.

Usage (by npy_interop.c): npy_interop.py DIR

Loads the c_* files tapegrad wrote into DIR and compares every value with
what they should hold, then writes py_* files with NumPy for the C side to
check. Exits 1 on a mismatch, 77 (a skipped test for meson) when NumPy is
not installed.
"""
import os
import sys

try:
    import numpy as np
except ImportError:
    print("numpy is not installed: skipping")
    sys.exit(77)


def ramp(dtype, shape):
    n = int(np.prod(shape))
    return ((np.arange(n, dtype=np.float64) - n / 2) / 4).astype(
        dtype).reshape(shape)


def same(got, want):
    """Same dtype (byte order included), shape and bits."""
    return (got.dtype == want.dtype and got.shape == want.shape and
            got.tobytes() == want.tobytes())


def check_c_files(d, problems):
    specials = np.array([-0.0, np.inf, -np.inf, np.nan, 2.0**-149,
                         np.finfo("<f4").max], dtype="<f4")
    expect = {
        "c_f4_2x3x4.npy": ramp("<f4", (2, 3, 4)),
        "c_f8_5.npy": ramp("<f8", (5,)),
        "c_f8_scalar.npy": np.array(3.141592653589793, dtype="<f8"),
        "c_f4_specials.npy": specials,
    }
    for name, want in expect.items():
        got = np.load(os.path.join(d, name), allow_pickle=False)
        if not same(got, want):
            problems.append("%s: %r %s, expected %r %s" % (
                name, got, got.dtype, want, want.dtype))
    with np.load(os.path.join(d, "c_model.npz"), allow_pickle=False) as z:
        want = {"w": ramp("<f4", (2, 3)), "b": ramp("<f8", (3,)),
                "step": np.array(7.0), "\u00e9t\u00e9": np.float32(0.25)}
        if list(z.keys()) != list(want):
            problems.append("c_model.npz: keys %r" % list(z.keys()))
        for key, value in want.items():
            if key in z and not same(z[key], np.asarray(value)):
                problems.append("c_model.npz[%r]: %r" % (key, z[key]))


def write_py_files(d):
    np.save(os.path.join(d, "py_f4_2x3x4.npy"), ramp("<f4", (2, 3, 4)))
    np.save(os.path.join(d, "py_f8_5.npy"), ramp("<f8", (5,)))
    np.save(os.path.join(d, "py_f8_scalar.npy"), np.float64(-1.5))
    with open(os.path.join(d, "py_f4_v2.npy"), "wb") as f:
        np.lib.format.write_array(f, ramp("<f4", (3, 2)), version=(2, 0))
    np.savez(os.path.join(d, "py_model.npz"), weight=ramp("<f4", (2, 3)),
             bias=ramp("<f8", (5,)))


def main():
    d = sys.argv[1]
    problems = []
    check_c_files(d, problems)
    write_py_files(d)
    for p in problems:
        print("FAIL:", p)
    print("numpy %s: %s" % (np.__version__, "FAIL" if problems else "ok"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
