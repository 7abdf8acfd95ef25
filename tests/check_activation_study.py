#!/usr/bin/env python3
"""Run examples/activation_study and check what it writes and refuses.

Always: bad input gets one clear message, a non-zero exit and no report
(an unknown activation, --epochs 0, an output folder that cannot be made
or written into, a missing data set).
With Debian's dataset-fashion-mnist installed (else TAP SKIPs that say
so): a truncated data set is refused the same way; `--quick` writes
results.json with the structure docs/activation-study.md describes, the
untrained 10-layer ReLU network has more dead units in its last five
layers than in its first two, the seed's ReLU (seedrelu, x * (x > 0))
gives exactly ReLU's numbers and says so (and, run alone, that there is
nothing to compare), every plot index.html shows is there and is
well-formed SVG, and headless Chromium renders every one of them (the
mechanism of check_activations_example.py; a TAP SKIP without
/usr/bin/chromium). Under `meson test --setup valgrind` the quick run
studies relu and seedrelu alone.
Usage: check_activation_study.py PATH_TO_ACTIVATION_STUDY
"""
import gzip
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
import tap  # noqa: E402  (tests/tap.py)
sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_activations_example as gallery  # noqa: E402

DATA = Path("/usr/share/datasets/fashion-mnist")
FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
ACTS = ["sigmoid", "tanh", "relu", "leakyrelu", "elu", "swish", "seedrelu"]
WRAP = shlex.split(os.environ.get("TG_RUN_WRAPPER", ""))
results = []


def check(ok, what, detail=""):
    results.append((bool(ok), what if ok or not detail else
                    "%s: %r" % (what, str(detail)[-400:])))


def skip(what):
    results.append((None, what))


def run(exe, *args):
    return subprocess.run(WRAP + [exe, *args], capture_output=True,
                          text=True, check=False, stdin=subprocess.DEVNULL)


def refused(r, out, code, words, what):
    """A refusal: exit code, one message with words, no report."""
    good = (r.returncode == code and words in r.stderr and
            not (out / "results.json").exists() and
            not (out / "index.html").exists())
    check(good, what, "exit %d: %s" % (r.returncode, r.stderr))


def check_errors(exe, tmp):
    out = tmp / "refused"
    refused(run(exe, "--activations", "relu,softmax", "--out", str(out)),
            out, 2, 'unknown activation "softmax"',
            "an unknown activation name is refused")
    refused(run(exe, "--epochs", "0", "--out", str(out)), out, 2,
            "--epochs expects a whole number from 1 to 50",
            "--epochs 0 is refused")
    blocker = tmp / "a-file"
    blocker.write_text("not a folder")
    refused(run(exe, "--quick", "--out", str(blocker / "sub")), blocker, 1,
            "cannot make the output folder",
            "an output folder that cannot be made is refused")
    refused(run(exe, "--quick", "--out", str(blocker)), blocker, 1,
            "cannot write into the output folder",
            "an output path that is a file is refused")
    refused(run(exe, "--quick", "--data", str(tmp / "no-data"), "--out",
                str(out)), out, 1, "apt-get install dataset-fashion-mnist",
            "a missing data set names the package to install")


def check_truncated(exe, tmp):
    data, out = tmp / "truncated", tmp / "out-truncated"
    data.mkdir()
    for f in FILES[1:]:
        (data / f).symlink_to(DATA / f)
    whole = (DATA / FILES[0]).read_bytes()
    (data / FILES[0]).write_bytes(whole[:len(whole) // 3])
    refused(run(exe, "--quick", "--data", str(data), "--out", str(out)), out,
            1, FILES[0], "a truncated data set is refused, naming the file")


def check_json(out, acts):
    res = json.loads((out / "results.json").read_text())
    want = {"test_accuracy", "epochs_trained", "grad_std", "dead_neurons"}
    check(want <= set(res), "results.json has %s" % sorted(want),
          sorted(res))
    acc, ep, std = res["test_accuracy"], res["epochs_trained"], \
        res["grad_std"]
    check(list(acc) == acts and all(0 <= v <= 100 for v in acc.values()),
          "test_accuracy: a percentage for each activation", acc)
    check(list(ep) == acts and all(v == 1 for v in ep.values()),
          "epochs_trained: 1 for each activation under --quick", ep)
    check(list(std) == acts and all(
        len(v) == 5 and all(math.isfinite(s) and s > 0 for s in v)
        for v in std.values()),
        "grad_std: five positive numbers for each activation", std)
    if "sigmoid" in std:
        s = std["sigmoid"]
        check(s[-1] > 100 * s[0], "sigmoid's gradient vanishes towards the "
              "input (output layer's std > 100 x the input layer's)", s)
    dead = res["dead_neurons"]
    shapes = {"untrained": 4, "trained": 4, "deep_untrained": 10}
    check(all(len(dead[k]) == n and all(isinstance(c, int) and c >= 0
                                        for c in dead[k])
              for k, n in shapes.items()),
          "dead_neurons: untrained (4), trained (4), deep_untrained (10)",
          dead)
    deep = dead["deep_untrained"]
    check(sum(deep[5:]) > sum(deep[:2]), "the untrained 10-layer ReLU "
          "network has more dead units in its last five layers than in its "
          "first two", deep)


def check_seed_relu(res, page):
    """seedrelu = x * (x > 0) from ops, same seed: ReLU's numbers exactly."""
    acc, std, val = (res["test_accuracy"], res["grad_std"],
                     res["validation_accuracy"])
    check(acc["seedrelu"] == acc["relu"] and
          res["epochs_trained"]["seedrelu"] == res["epochs_trained"]["relu"],
          "seedrelu's test accuracy and epochs equal relu's exactly",
          (acc, res["epochs_trained"]))
    check(len(val["relu"]) >= 1 and val["seedrelu"] == val["relu"],
          "seedrelu's validation accuracy of every epoch equals relu's", val)
    check(std["seedrelu"] == std["relu"],
          "seedrelu's gradient std of every layer equals relu's", std)
    seed = res["seed_relu"]
    same = seed["identical_to_relu"] if seed else {}
    check(len(same) == 6 and all(v is True for v in same.values()),
          "results.json: seed_relu says every figure is identical to relu's "
          "(histograms and trained weights included)", seed)
    probes = {p["x"]: p for p in seed["probes"]} if seed else {}
    want = {"-inf": ("0", "NaN", True), "1": ("1", "1", False),
            "NaN": ("NaN", "NaN", True)}
    check(len(probes) == 7 and all(
        (probes[x]["relu"], probes[x]["seed_relu"], probes[x]["bits_differ"])
        == w for x, w in want.items()) and
        probes["NaN"]["relu_grad"] == "1" and
        probes["NaN"]["seed_relu_grad"] == "0" and
        probes["0"]["relu_grad"] == probes["0"]["seed_relu_grad"] == "0",
        "seed_relu.probes: -inf gives NaN, NaN's gradient is stopped, "
        "0's gradient is 0 in both", seed)
    check("The seed's own ReLU" in page and "trained weights identical, "
          "bit for bit" in page and "<b>different</b>" not in page,
          "index.html states that seedrelu's run is identical to relu's")


def check_page(out, acts, tmp):
    parser = gallery.Images()
    parser.feed((out / "index.html").read_text())
    want = ["fn_%s.svg" % a for a in acts] + [
        "grad_%s_%d.svg" % (a, i) for a in acts for i in range(5)] + [
        "act_%s_%d.svg" % (a, k) for a in acts for k in range(8)]
    check(sorted(parser.srcs) == sorted(want), "index.html shows the "
          "functions, 5 gradient and 8 activation histograms each",
          parser.srcs)
    try:
        for src in want:
            root = ET.parse(out / src).getroot()
            if not root.tag.endswith("svg"):
                raise ValueError("%s: root is <%s>" % (src, root.tag))
        check(True, "every plot is well-formed SVG")
    except (OSError, ValueError, ET.ParseError) as e:
        check(False, "every plot is well-formed SVG", e)
    if not Path(gallery.CHROMIUM).exists():
        skip("index.html in chromium: %s not found" % gallery.CHROMIUM)
        return
    try:
        gallery.check_in_chromium(out, [s[:-4] for s in parser.srcs], tmp)
        check(True, "headless chromium renders every plot of index.html")
    except (gallery.Failed, OSError, ValueError,
            subprocess.SubprocessError) as e:
        check(False, "headless chromium renders every plot of index.html", e)


def check_quick(exe, tmp):
    out = tmp / "quick"
    acts = ["relu", "seedrelu"] if WRAP else ACTS
    r = run(exe, "--quick", "--out", str(out), "--activations",
            ",".join(acts))
    check(r.returncode == 0 and "wrote" in r.stdout, "--quick runs",
          "exit %d: %s" % (r.returncode, r.stderr))
    if r.returncode != 0:
        return
    check("dead ReLU units, untrained" in r.stdout and
          "relu      test accuracy" in r.stdout,
          "it reports to the terminal as it goes", r.stdout)
    check_json(out, acts)
    check_seed_relu(json.loads((out / "results.json").read_text()),
                    (out / "index.html").read_text())
    check("identical; trained weights identical (bit for bit)" in r.stdout,
          "the terminal says seedrelu's run is identical to relu's",
          r.stdout)
    check_page(out, acts, tmp)


def check_seed_alone(exe, tmp):
    """seedrelu without relu: nothing to compare, and the report says so."""
    out = tmp / "seed-alone"
    r = run(exe, "--quick", "--out", str(out), "--activations", "seedrelu")
    res = json.loads((out / "results.json").read_text()) \
        if r.returncode == 0 else {}
    check(res.get("seed_relu", 0) is None and
          list(res.get("test_accuracy", {})) == ["seedrelu"] and
          "they were not" in (out / "index.html").read_text() and
          "against relu" not in r.stdout,
          "seedrelu alone: seed_relu is null and the page says why",
          "exit %d: %s" % (r.returncode, r.stderr or res))


def main():
    exe = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        check_errors(exe, tmp)
        if all((DATA / f).is_file() for f in FILES):
            check_truncated(exe, tmp)
            check_quick(exe, tmp)
            if not WRAP:
                check_seed_alone(exe, tmp)
        else:
            skip("Fashion-MNIST is not installed in %s (apt-get install "
                 "dataset-fashion-mnist): the --quick run is not checked"
                 % DATA)
    sys.exit(tap.report(results))


if __name__ == "__main__":
    main()
