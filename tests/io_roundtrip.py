#!/usr/bin/env python3
"""Read back what tapegrad's writers wrote, with Python's own modules.

Usage: io_roundtrip.py WRITER

Runs WRITER (tests/io_roundtrip_writer.c) into a temporary directory, then
checks that
- each JSON file is exactly what json.dump(json.load(f), f, indent=4)
  writes, byte for byte, so the C writer matches Python's formatting;
- the seed's numbers are float32 values, y == relu(x) and yp == relu'(x);
- each SVG file parses with xml.etree (well-formed), is SVG 1.1 with its
  title, legend labels and polylines, and every point lies in the picture.
Only the standard library is used. Prints TAP.
"""
import json
import math
import os
import shlex
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

# Under `meson test --setup valgrind`, the programs run under valgrind.
WRAP = shlex.split(os.environ.get("TG_RUN_WRAPPER", ""))

SVG = "{http://www.w3.org/2000/svg}"
results = []


def check(name, ok, detail=""):
    results.append((name, bool(ok), detail))


def f32(v):
    """v rounded to float32 and widened back, as the C side stores it."""
    return struct.unpack("<f", struct.pack("<f", v))[0]


def check_json(path):
    with open(path, encoding="ascii") as f:
        text = f.read()
    obj = json.loads(text)
    again = json.dumps(obj, indent=4)
    where = next((i for i, (a, b) in enumerate(zip(text, again)) if a != b),
                 min(len(text), len(again)))
    check(os.path.basename(path) + " is json.dumps(json.load(f), indent=4)",
          text == again, "first difference at byte %d: %r vs %r"
          % (where, text[where - 20:where + 20], again[where - 20:where + 20]))
    return obj


def check_seed_json(obj):
    check("seed.json has x, y, yp in order", list(obj) == ["x", "y", "yp"])
    x, y, yp = obj["x"], obj["y"], obj["yp"]
    check("seed.json lists have 1000 values",
          len(x) == len(y) == len(yp) == 1000)
    check("seed.json x is float32 linspace(-2, 2)",
          x[0] == -2.0 and x[-1] == 2.0 and all(f32(v) == v for v in x)
          and all(a < b for a, b in zip(x, x[1:])))
    check("seed.json y == relu(x)", all(b == max(a, 0.0) for a, b in zip(x, y)))
    check("seed.json yp == relu'(x)",
          all(g == (1.0 if a > 0 else 0.0) for a, g in zip(x, yp)))


def check_special_json(obj):
    names = list(obj)
    check("special.json names unescape",
          names == ["f64 specials", "f32 \"2-D\" \\ /\t\n\x01\x7f",
                    "na\u00efve \u2202 \U0001F600"], repr(names))
    v = obj["f64 specials"]
    check("special.json NaN, Infinity, -Infinity, -0.0",
          math.isnan(v[0]) and v[1] == math.inf and v[2] == -math.inf
          and v[3] == 0.0 and math.copysign(1, v[3]) < 0, repr(v[:4]))
    m = obj[names[1]]
    check("special.json 2-D f32 tensor flattened",
          m == [-2.0, f32(0.1), f32(3.4028235e38), f32(1e-45), -0.0,
                16777216.0], repr(m))
    check("special.json scalar", obj[names[2]] == [-2.5])


def points(elem):
    for pair in elem.get("points").split():
        x, y = pair.split(",")
        yield float(x), float(y)


def check_svg(path, title, labels, polylines):
    name = os.path.basename(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        check(name + " is well-formed XML", False, str(e))
        return
    check(name + " is well-formed XML", True)
    check(name + " is SVG 1.1", root.tag == SVG + "svg"
          and root.get("version") == "1.1", root.tag)
    texts = ["".join(t.itertext()) for t in root.iter(SVG + "text")]
    check(name + " shows the title", title in texts, repr(texts))
    check(name + " has a <title>",
          root.find(SVG + "title") is not None
          and root.find(SVG + "title").text == title)
    check(name + " shows the legend labels",
          all(label in texts for label in labels), repr(texts))
    lines = list(root.iter(SVG + "polyline"))
    check(name + " has %d polylines" % polylines, len(lines) == polylines,
          str(len(lines)))
    w, h = float(root.get("width")), float(root.get("height"))
    check(name + " points lie inside the picture",
          all(0 <= x <= w and 0 <= y <= h
              for line in lines for x, y in points(line)))


def main():
    writer = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        run = subprocess.run(WRAP + [writer, d], capture_output=True, text=True)
        check("writer ran", run.returncode == 0, run.stderr.strip())
        if run.returncode == 0:
            check_seed_json(check_json(os.path.join(d, "seed.json")))
            check_special_json(check_json(os.path.join(d, "special.json")))
            check_svg(os.path.join(d, "seed.svg"), "ReLU",
                      ["relu(x)", "relu'(x)"], 2)
            check_svg(os.path.join(d, "special.svg"),
                      "<Title> & \"quotes\" \u2014 \u00e9t\u00e9",
                      ["a < b & \"c\" 'd' > e\ufffd\ufffd"], 2)
            check("no temporary files left", sorted(os.listdir(d)) ==
                  ["seed.json", "seed.svg", "special.json", "special.svg"],
                  repr(os.listdir(d)))
    print("1..%d" % len(results))
    for i, (name, ok, detail) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
        if not ok and detail:
            print("# " + detail.replace("\n", "\n# "))
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
