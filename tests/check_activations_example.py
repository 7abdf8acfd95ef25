#!/usr/bin/env python3
"""Run the activations gallery into a temporary folder and check it.

- The gallery covers every activation of the library: each op of the
  activation group of src/ops/builtin.h, plus sigmoid and tanh.
- Each <name>.json is the seed's format (keys x, y, yp; json.dump with
  indent=4, byte for byte) plus "ypp", on linspace(-2, 2, 1000), with y,
  yp and ypp equal to the function and its first and second derivatives
  computed here with Python's math module (within float32 rounding);
  relu.json without "ypp" is byte for byte what the seed example
  (examples/relu.c) writes.
- "ypp" is there exactly for the activations whose op file
  (src/ops/<name>.c) gives the op a backward_ops: without one the second
  derivative cannot be computed, and must not be made up.
- Each <name>.svg is well-formed SVG with its title and legends (y, yp,
  and ypp when the JSON has it).
- index.html shows every plot (one <img> per activation, in order).
- When Debian's chromium is at /usr/bin/chromium, index.html is opened
  headless and every <img> must have loaded with a natural width > 0
  (otherwise that check is a TAP SKIP).
Usage: check_activations_example.py ACTIVATIONS RELU BUILTIN_H
"""
import html.parser
import json
import math
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

CHROMIUM = "/usr/bin/chromium"
SCALE, ALPHA = 1.0507009873554805, 1.6732632423543772


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def phi(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def cdf(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def gelu_tanh(x):
    u = math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)
    du = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x * x)
    t = math.tanh(u)
    return x * (1 + t) / 2, (1 + t) / 2 + x * (1 - t * t) * du / 2


def mish(x):
    t = math.tanh(math.log1p(math.exp(x)))
    return x * t, t + x * sigmoid(x) * (1 - t * t)


def clamp(v, lo, hi):
    return min(max(v, lo), hi)


def central(f, x, h=1e-4):
    """d f / dx at x by a central difference, in float64 (error ~ h^2)."""
    return (f(x + h) - f(x - h)) / (2 * h)


def sigmoid_pp(x):
    s = sigmoid(x)
    return s * (1 - s) * (1 - 2 * s)


# name: x -> (y, dy/dx), PyTorch's defaults for the options.
REFERENCE = {
    "relu": lambda x: (max(x, 0.0), 1.0 if x > 0 else 0.0),
    "leaky_relu": lambda x: (x if x > 0 else 0.01 * x,
                             1.0 if x > 0 else 0.01),
    "elu": lambda x: (x if x > 0 else math.expm1(x),
                      1.0 if x > 0 else math.exp(x)),
    "selu": lambda x: (SCALE * (x if x > 0 else ALPHA * math.expm1(x)),
                       SCALE if x > 0 else SCALE * ALPHA * math.exp(x)),
    "gelu": lambda x: (x * cdf(x), cdf(x) + x * phi(x)),
    "gelu_tanh": gelu_tanh,
    "silu": lambda x: (x * sigmoid(x),
                       sigmoid(x) * (1 + x * (1 - sigmoid(x)))),
    "softplus": lambda x: (math.log1p(math.exp(x)), sigmoid(x)),
    "mish": mish,
    "hardtanh": lambda x: (clamp(x, -1.0, 1.0), 1.0 if -1 < x < 1 else 0.0),
    "relu6": lambda x: (clamp(x, 0.0, 6.0), 1.0 if 0 < x < 6 else 0.0),
    "hardsigmoid": lambda x: (clamp(x + 3, 0.0, 6.0) / 6,
                              1 / 6 if -3 < x < 3 else 0.0),
    "hardswish": lambda x: (x * clamp(x + 3, 0.0, 6.0) / 6,
                            0.0 if x < -3 else 1.0 if x >= 3
                            else x / 3 + 0.5),
    "softsign": lambda x: (x / (1 + abs(x)), 1 / (1 + abs(x)) ** 2),
    "sigmoid": lambda x: (sigmoid(x), sigmoid(x) * (1 - sigmoid(x))),
    "tanh": lambda x: (math.tanh(x), 1 - math.tanh(x) ** 2),
}


# name: x -> d^2 y / dx^2 (0 at the kinks, as autograd gives: the points
# of linspace(-2, 2, 1000) are at least 1e-3 away from them).
SECOND = {
    "relu": lambda x: 0.0,
    "leaky_relu": lambda x: 0.0,
    "elu": lambda x: 0.0 if x > 0 else math.exp(x),
    "selu": lambda x: 0.0 if x > 0 else SCALE * ALPHA * math.exp(x),
    "gelu": lambda x: phi(x) * (2 - x * x),
    "gelu_tanh": lambda x: central(lambda u: gelu_tanh(u)[1], x),
    "silu": lambda x: sigmoid(x) * (1 - sigmoid(x)) * (
        2 + x * (1 - 2 * sigmoid(x))),
    "softplus": lambda x: sigmoid(x) * (1 - sigmoid(x)),
    "mish": lambda x: central(lambda u: mish(u)[1], x),
    "hardtanh": lambda x: 0.0,
    "relu6": lambda x: 0.0,
    "hardsigmoid": lambda x: 0.0,
    "hardswish": lambda x: 1 / 3 if -3 < x < 3 else 0.0,
    "softsign": lambda x: -2 * math.copysign(1, x) / (1 + abs(x)) ** 3,
    "sigmoid": sigmoid_pp,
    "tanh": lambda x: -2 * math.tanh(x) * (1 - math.tanh(x) ** 2),
}


class Failed(Exception):
    pass


def library_activations(builtin_h):
    """The activation group of builtin.h, plus sigmoid and tanh."""
    text = Path(builtin_h).read_text()
    group = re.search(r"#define TG__OPS_ACTIVATION\(X\)(.*?)\n\n", text,
                      re.S)
    if group is None:
        raise Failed("no activation group in " + builtin_h)
    return re.findall(r"X\((\w+)\)", group.group(1)) + ["sigmoid", "tanh"]


def close(got, want):
    return abs(got - want) <= 2e-6 + 1e-5 * abs(want)


def close2(got, want):
    """For ypp: float32 rounding, through two reverse passes."""
    return abs(got - want) <= 1e-5 + 1e-4 * abs(want)


def has_backward_ops(ops_dir, name):
    """Whether src/ops/<name>.c gives its op a derivative written with ops."""
    return re.search(r"\.backward_ops\s*=\s*\w+",
                     (Path(ops_dir) / (name + ".c")).read_text()) is not None


def check_json(path, name, want_ypp):
    text = path.read_text()
    data = json.loads(text)
    keys = ["x", "y", "yp"] + (["ypp"] if want_ypp else [])
    if list(data) != keys:
        raise Failed("%s: keys %s, expected %s" % (path.name, list(data),
                                                   keys))
    if json.dumps(data, indent=4) != text:
        raise Failed("%s: not json.dump(indent=4) byte for byte" % path.name)
    x, y, yp = data["x"], data["y"], data["yp"]
    ypp = data.get("ypp", x)
    if not len(x) == len(y) == len(yp) == len(ypp) == 1000 or \
            x[0] != -2 or x[-1] != 2:
        raise Failed("%s: not 1000 points from -2 to 2" % path.name)
    ref = REFERENCE[name]
    for i, xi in enumerate(x):
        want_y, want_yp = ref(xi)
        if not close(y[i], want_y):
            raise Failed("%s: y[%d] = %r at x = %r, expected %r" % (
                path.name, i, y[i], xi, want_y))
        if not close(yp[i], want_yp):
            raise Failed("%s: yp[%d] = %r at x = %r, expected %r" % (
                path.name, i, yp[i], xi, want_yp))
        if want_ypp and not close2(ypp[i], SECOND[name](xi)):
            raise Failed("%s: ypp[%d] = %r at x = %r, expected %r" % (
                path.name, i, ypp[i], xi, SECOND[name](xi)))


def check_svg(path, name, want_ypp):
    root = ET.parse(path).getroot()
    if not root.tag.endswith("svg"):
        raise Failed("%s: root is <%s>" % (path.name, root.tag))
    text = "".join(root.itertext())
    labels = ["y = %s(x)" % name, "yp = d %s(x) / dx" % name]
    ypp_label = "ypp = d\u00b2 %s(x) / dx\u00b2" % name
    if want_ypp:
        labels.append(ypp_label)
    elif ypp_label in text:
        raise Failed("%s: a ypp legend, but %s has no backward_ops" % (
            path.name, name))
    for label in labels:
        if label not in text:
            raise Failed("%s: no legend %r" % (path.name, label))


class Images(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.srcs.append(dict(attrs).get("src"))


PROBE = """
<script>
window.addEventListener("load", function () {
  var out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(Array.prototype.map.call(document.images,
    function (i) { return [i.getAttribute("src"), i.complete,
                           i.naturalWidth, i.naturalHeight]; }));
  document.body.appendChild(out);
});
</script>
</body>"""


def check_in_chromium(folder, names, tmp):
    """Open index.html (with a probe script added) in headless chromium."""
    probe = folder / "probe.html"
    probe.write_text((folder / "index.html").read_text().replace(
        "</body>", PROBE))
    run = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run",
         "--user-data-dir=" + str(tmp / "chromium-profile"),
         "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, check=False, timeout=180)
    found = re.search(r'<pre id="probe">(.*?)</pre>', run.stdout, re.S)
    if run.returncode != 0 or found is None:
        raise Failed("chromium exited %d without the probe's result: %s" % (
            run.returncode, run.stderr[-2000:]))
    images = json.loads(html.unescape(found.group(1)))
    if sorted(i[0] for i in images) != sorted(n + ".svg" for n in names):
        raise Failed("chromium saw images %s" % [i[0] for i in images])
    for src, complete, width, height in images:
        if not complete or width <= 0 or height <= 0:
            raise Failed("chromium did not render %s (%sx%s)" % (
                src, width, height))


def run_gallery(exe, folder, names):
    run = subprocess.run(WRAP + [exe, "--out", str(folder)], capture_output=True,
                         text=True, check=False)
    if run.returncode != 0:
        raise Failed("activations exited %d: %s" % (run.returncode,
                                                    run.stderr))
    missing = [a for a in names if a not in REFERENCE or
               not (folder / (a + ".json")).is_file()]
    if missing:
        raise Failed("no gallery entry for %s: add them to "
                     "examples/activations.c (and to REFERENCE in this "
                     "test)" % missing)
    return "every activation of the library is in the gallery (%d)" % len(
        names)


def check_all_json(folder, names, ops_dir):
    without = []
    for name in names:
        want_ypp = has_backward_ops(ops_dir, name)
        check_json(folder / (name + ".json"), name, want_ypp)
        if not want_ypp:
            without.append(name)
    return "every JSON is the seed's format, with the right y, yp and " \
        "ypp%s" % ("" if not without else " (no ypp, as there is no "
                   "backward_ops, for %s)" % ", ".join(without))


def check_seed(relu_exe, folder, tmp):
    seed = tmp / "seed"
    subprocess.run(WRAP + [relu_exe, "--out", str(seed)], check=True,
                   capture_output=True)
    ours = json.loads((folder / "relu.json").read_text())
    ours.pop("ypp", None)
    if (seed / "relu.json").read_text() != json.dumps(ours, indent=4):
        raise Failed("relu.json (without ypp) differs from the seed "
                     "example's")
    return "relu.json without ypp is byte for byte the seed's"


def check_all_svg(folder, names, ops_dir):
    for name in names:
        check_svg(folder / (name + ".svg"), name,
                  has_backward_ops(ops_dir, name))
    return "every SVG is well-formed, with its title and legends"


def check_index(folder, names):
    parser = Images()
    parser.feed((folder / "index.html").read_text())
    if sorted(parser.srcs) != sorted(a + ".svg" for a in names):
        raise Failed("index.html shows %s" % parser.srcs)
    return "index.html shows every plot"


def check_browser(folder, names, tmp):
    if not Path(CHROMIUM).exists():
        return "index.html in chromium # SKIP %s not found" % CHROMIUM
    check_in_chromium(folder, names, tmp)
    return "headless chromium renders every plot of index.html"


def main():
    exe, relu_exe, builtin_h = sys.argv[1:4]
    ops_dir = Path(builtin_h).parent
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = tmp / "gallery"
        checks = [
            lambda names: run_gallery(exe, folder, names),
            lambda names: check_all_json(folder, names, ops_dir),
            lambda names: check_seed(relu_exe, folder, tmp),
            lambda names: check_all_svg(folder, names, ops_dir),
            lambda names: check_index(folder, names),
            lambda names: check_browser(folder, names, tmp),
        ]
        tap.run_in_order([lambda c=c: c(library_activations(builtin_h))
                          for c in checks],
                         (Failed, OSError, ValueError, ET.ParseError,
                          subprocess.SubprocessError))


if __name__ == "__main__":
    main()
