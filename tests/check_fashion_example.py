#!/usr/bin/env python3
"""Run examples/fashion_mnist and check what it prints and writes.

On a small synthetic data set in IDX files made here (always): it trains,
prints its epoch line and a test accuracy that shows it learned, saves a
model numpy loads with the shapes of an MLP 784-256-10 (skipped when numpy
is not installed) and two SVG plots that parse. On the real Fashion-MNIST
(when Debian's dataset-fashion-mnist is installed, else a TAP SKIP): a
slice of it (--limit 2000 --epochs 1 --test-limit 1000; under valgrind
256 and 200 images) does the same.
Errors: a missing data set is one line naming the package to install,
exit code 1; files that are not IDX, or truncated gzip streams, give the
parser's or zlib's message naming the file; bad options exit with 2.
Usage: check_fashion_example.py PATH_TO_FASHION_MNIST_BINARY
"""
import gzip
import os
import re
import shlex
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import tap  # tests/tap.py

DATA = Path("/usr/share/datasets/fashion-mnist")
FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
SVG = "{http://www.w3.org/2000/svg}"
# Under `meson test --setup valgrind`, the programs run under valgrind
# (tests/support/valgrind-wrap.sh), where they are some 50 times slower.
WRAP = shlex.split(os.environ.get("TG_RUN_WRAPPER", ""))
results = []

# Exit 77 without numpy; print "ok" when the model has the right names,
# shapes and dtype and finite values.
NUMPY_PROBE = """
import sys
try:
    import numpy as np
except ImportError:
    sys.exit(77)
z = np.load(sys.argv[1])
shapes = {k: z[k].shape for k in z.files}
want = {"l0.weight": (256, 784), "l0.bias": (256,),
        "l1.weight": (10, 256), "l1.bias": (10,)}
good = shapes == want and all(z[k].dtype == np.float32 and
                              np.isfinite(z[k]).all() for k in z.files)
print("ok" if good else "got %s" % shapes)
"""


def check(ok, what, detail=""):
    """One TAP line; detail is shown only when the check fails."""
    ok = bool(ok)
    results.append((ok, what if ok or not detail else
                    "%s: %r" % (what, detail[-300:])))


def skip(what):
    results.append((None, what))


def run(exe, *args):
    return subprocess.run(WRAP + [exe, *args], capture_output=True, text=True,
                          check=False, stdin=subprocess.DEVNULL)


def write_idx(path, type_code, dims, payload):
    """An IDX file as the data set has them: magic, big-endian dims, data."""
    head = bytes([0, 0, type_code, len(dims)]) + struct.pack(
        ">%dI" % len(dims), *dims)
    with gzip.open(path, "wb") as f:
        f.write(head + payload)


def synthetic(folder, n_train=160, n_test=100):
    """Images of class k are dark but for a bright 4x28 band at rows
    2k+2..2k+5, plus a little deterministic noise: easy to learn."""
    def split(prefix, n, salt):
        pixels, labels = bytearray(), bytearray()
        for i in range(n):
            k = (i * 7 + salt) % 10
            img = bytearray(((i * 31 + j * 17 + salt) % 23) for j in range(784))
            for r in range(2 * k + 2, 2 * k + 6):
                for c in range(28):
                    img[r * 28 + c] = 200 + (r + c + i) % 50
            pixels += img
            labels.append(k)
        write_idx(folder / (prefix + "-images-idx3-ubyte.gz"), 8,
                  [n, 28, 28], bytes(pixels))
        write_idx(folder / (prefix + "-labels-idx1-ubyte.gz"), 8, [n],
                  bytes(labels))
    split("train", n_train, 0)
    split("t10k", n_test, 3)


def check_outputs(r, out, label, least):
    """The run r wrote into out: its lines, its accuracy, its files."""
    check(r.returncode == 0, "%s: runs" % label, r.stderr)
    check(re.search(r"^epoch 1/1 +train loss [0-9.]+ +test loss [0-9.]+ +"
                    r"test accuracy [0-9.]+% +[0-9.]+ s", r.stdout, re.M),
          "%s: prints the epoch's line" % label, r.stdout)
    check("\r" not in r.stdout, "%s: no progress line when stdout is not a "
          "terminal" % label, r.stdout)
    m = re.search(r"^test accuracy ([0-9.]+)% after 1 epoch$", r.stdout,
                  re.M)
    check(m and float(m.group(1)) >= least,
          "%s: test accuracy at least %g%%" % (label, least), r.stdout)
    npz = out / "fashion_mnist.npz"
    svgs = [out / "fashion_mnist_loss.svg", out / "fashion_mnist_accuracy.svg"]
    check(all(("wrote %s" % p) in r.stdout for p in [npz] + svgs),
          "%s: prints the paths it wrote" % label, r.stdout)
    for svg in svgs:
        try:
            root = ET.parse(svg).getroot()
            lines = root.findall(".//%spolyline" % SVG) + \
                root.findall(".//%spath" % SVG)
            check(root.tag == SVG + "svg" and lines,
                  "%s: %s parses and draws lines" % (label, svg.name),
                  root.tag)
        except (OSError, ET.ParseError) as e:
            check(False, "%s: %s parses" % (label, svg.name), str(e))
    # numpy runs in a child process: under `meson test --setup valgrind`
    # this script is what valgrind watches, and importing numpy in it
    # would show Python's own "possibly lost" blocks.
    probe = subprocess.run([sys.executable, "-c", NUMPY_PROBE, str(npz)],
                           capture_output=True, text=True, check=False)
    if probe.returncode == 77:
        skip("%s: numpy is not installed" % label)
        return
    check(probe.returncode == 0 and probe.stdout.strip() == "ok",
          "%s: numpy loads the model (f32, MLP 784-256-10)" % label,
          probe.stdout + probe.stderr)


def check_errors(exe, tmp):
    r = run(exe, "--data", "/nonexistent", "--out", str(tmp))
    lines = r.stderr.splitlines()
    check(r.returncode == 1 and len(lines) == 1 and
          "apt-get install dataset-fashion-mnist" in lines[0] and
          "/nonexistent/train-images-idx3-ubyte.gz" in lines[0] and
          r.stdout == "",
          "a missing data set is one line naming the package, exit code 1",
          r.stderr)
    bad = tmp / "bad"
    bad.mkdir()
    with gzip.open(bad / FILES[0], "wb") as f:
        f.write(b"this is not an IDX file at all")
    r = run(exe, "--data", str(bad), "--out", str(tmp))
    check(r.returncode == 1 and "tg_idx_parse" in r.stderr and
          "magic" in r.stderr and FILES[0] in r.stderr and
          len(r.stderr.splitlines()) == 1,
          "a file that is not IDX gives the parser's message", r.stderr)
    data = gzip.compress(bytes([0, 0, 8, 3, 0, 0, 0, 9, 0, 0, 0, 28, 0, 0,
                                0, 28]) + bytes(9 * 784))
    (bad / FILES[0]).write_bytes(data[:len(data) // 2])
    r = run(exe, "--data", str(bad), "--out", str(tmp))
    check(r.returncode == 1 and "cannot decompress" in r.stderr and
          FILES[0] in r.stderr,
          "a truncated gzip stream is an error naming the file", r.stderr)
    r = run(exe, "--data", str(bad), "--out", str(tmp / "missing"))
    check(r.returncode == 1 and "cannot write into" in r.stderr and
          "missing" in r.stderr and r.stdout == "",
          "an output folder that is not there is an error before training",
          r.stderr)
    for args in (["--optimizer", "rmsprop"], ["--lr", "-1"],
                 ["--batch", "0"], ["--epochs"], ["--frobnicate", "1"]):
        r = run(exe, *args)
        check(r.returncode == 2 and r.stderr.startswith("fashion_mnist: "),
              "bad option %s exits with 2" % " ".join(args), r.stderr)


def main():
    exe = sys.argv[1]
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        syn, out = tmp / "synthetic", tmp / "out-synthetic"
        syn.mkdir()
        out.mkdir()
        synthetic(syn)
        r = run(exe, "--data", str(syn), "--out", str(out), "--epochs", "1",
                "--batch", "16")
        check_outputs(r, out, "synthetic", 90.0)
        check_errors(exe, tmp)
        if all((DATA / f).is_file() for f in FILES):
            out = tmp / "out-fashion"
            out.mkdir()
            n, n_test, least = (256, 200, 40.0) if WRAP else (2000, 1000, 50.0)
            r = run(exe, "--limit", str(n), "--epochs", "1", "--test-limit",
                    str(n_test), "--out", str(out))
            check("%d training and %d test images" % (n, n_test) in r.stdout,
                  "Fashion-MNIST: --limit and --test-limit apply", r.stdout)
            check_outputs(r, out, "Fashion-MNIST", least)
        else:
            skip("Fashion-MNIST is not installed in %s (apt-get install "
                 "dataset-fashion-mnist)" % DATA)
    sys.exit(tap.report(results))


if __name__ == "__main__":
    main()
