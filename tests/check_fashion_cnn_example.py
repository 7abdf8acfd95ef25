#!/usr/bin/env python3
"""Run examples/fashion_cnn and check what it prints and writes.

On a slice of the real Fashion-MNIST (when Debian's dataset-fashion-mnist
is installed, else a TAP SKIP): 2 epochs straight and 1 epoch, then
--resume for the second, print the same epoch line (loss and accuracy to
all printed digits) and write the same checkpoint, byte for byte, with
SGD and with --adam --dropout 0.25 (whose dropout generators are in the
checkpoint); a progress line with an ETA is printed. Always: bad options
exit with 2 and a message, a missing data set or checkpoint exits with 1
and one line naming it, a checkpoint of another recipe is refused.
Usage: check_fashion_cnn_example.py PATH_TO_FASHION_CNN_BINARY
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import tap  # tests/tap.py

DATA = Path("/usr/share/datasets/fashion-mnist")
FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
# Under `meson test --setup valgrind` the program runs under valgrind.
WRAP = shlex.split(os.environ.get("TG_RUN_WRAPPER", ""))
results = []


def check(ok, what, detail=""):
    ok = bool(ok)
    results.append((ok, what if ok or not detail else
                    "%s: %r" % (what, detail[-300:])))


def run(exe, *args):
    return subprocess.run(WRAP + [exe, *args], capture_output=True,
                          text=True, timeout=600)


def epoch_lines(stdout):
    """Each epoch's result line without the epoch count and timing."""
    return [re.sub(r"^(epoch \d+)/\d+| \(\d+\.\d+ s, \d+ images/s\)", r"\1",
                   line)
            for line in stdout.splitlines() if re.match(r"epoch \d+/", line)]


def resume_case(exe, tmp, label, extra, n, n_test):
    size = ["--limit", str(n), "--test-limit", str(n_test)] + extra
    a, b = tmp / (label + "-a"), tmp / (label + "-b")
    a.mkdir()
    b.mkdir()
    r2 = run(exe, "--out", str(a), "--epochs", "2", *size)
    r1 = run(exe, "--out", str(b), "--epochs", "1", *size)
    rr = run(exe, "--out", str(b), "--epochs", "2", "--resume", *size)
    ok = r2.returncode == 0 and r1.returncode == 0 and rr.returncode == 0
    check(ok, "%s: the three runs succeed" % label,
          r2.stderr + r1.stderr + rr.stderr)
    if not ok:
        return
    straight, first, resumed = (epoch_lines(r.stdout) for r in (r2, r1, rr))
    check(len(straight) == 2 and len(first) == 1 and len(resumed) == 1,
          "%s: one line per epoch run" % label, r2.stdout + rr.stdout)
    check(straight == first + resumed, "%s: 1 epoch + --resume + 1 epoch "
          "prints what 2 epochs print" % label,
          "%s vs %s" % (straight, first + resumed))
    check("resumed from" in rr.stdout and "after epoch 1" in rr.stdout,
          "%s: --resume says where it continues from" % label, rr.stdout)
    ca = (a / "fashion_cnn.npz").read_bytes()
    cb = (b / "fashion_cnn.npz").read_bytes()
    check(ca == cb, "%s: the checkpoints are the same bytes" % label)
    check(re.search(r"epoch 1/2 +\d+%.*ETA \d+ s", r2.stdout),
          "%s: a progress line with an ETA" % label, r2.stdout)
    losses = [float(re.search(r"train loss (\d+\.\d+)", line).group(1))
              for line in straight]
    check(len(losses) == 2 and losses[1] < losses[0], "%s: it learns (the "
          "training loss falls)" % label, str(straight))


def check_errors(exe, tmp):
    for args, what in ((["--dropout", "1.5"], "--dropout 1.5"),
                       (["--epochs", "0"], "--epochs 0"),
                       (["--frobnicate"], "an unknown option"),
                       (["--threads"], "a missing value")):
        r = run(exe, *args)
        check(r.returncode == 2 and r.stderr.startswith("fashion_cnn: ")
              and "\n" not in r.stderr.strip(),
              "%s: exit 2 and one line" % what, r.stderr)
    r = run(exe, "--data", str(tmp / "nowhere"), "--out", str(tmp))
    check(r.returncode == 1 and "dataset-fashion-mnist" in r.stderr,
          "a missing data set names the package", r.stderr)
    if all((DATA / f).is_file() for f in FILES):
        empty = tmp / "empty"
        empty.mkdir()
        r = run(exe, "--out", str(empty), "--resume", "--limit", "64",
                "--test-limit", "10")
        check(r.returncode == 1 and "fashion_cnn.npz" in r.stderr,
              "--resume without a checkpoint names the file", r.stderr)
        other = tmp / "sgd-b"
        if (other / "fashion_cnn.npz").is_file():
            r = run(exe, "--out", str(other), "--resume", "--adam",
                    "--epochs", "3", "--limit", "64", "--test-limit", "10")
            check(r.returncode == 1 and "SGD" in r.stderr and
                  "Adam" in r.stderr, "--resume with another optimizer is "
                  "refused, naming both", r.stderr)


def main():
    exe = sys.argv[1]
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        if all((DATA / f).is_file() for f in FILES):
            n, n_test = (128, 100) if WRAP else (320, 300)
            resume_case(exe, tmp, "sgd", [], n, n_test)
            resume_case(exe, tmp, "adam-dropout",
                        ["--adam", "--dropout", "0.25"], n, n_test)
        else:
            results.append((None, "Fashion-MNIST is not installed in %s "
                            "(apt-get install dataset-fashion-mnist)" % DATA))
        check_errors(exe, tmp)
    sys.exit(tap.report(results))


if __name__ == "__main__":
    main()
