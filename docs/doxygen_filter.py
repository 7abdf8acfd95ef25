#!/usr/bin/env python3
"""Show tapegrad's headers to Doxygen as if their comments were its own.

The headers are written for people reading them as plain C: /* ... */
comments above each declaration, and after struct members. Doxygen only
reads /** ... */ and /**< ... */, so this input filter (Doxyfile's
INPUT_FILTER) rewrites them on the way in:

- the first comment of a header becomes the file's documentation
  (/** @file ... */);
- a comment that starts a line becomes /** ... */, documenting what
  follows, except banners (/* ---- Activations ---- */), which stay
  plain;
- a comment after code on the same line becomes /**< ... */, documenting
  that member or enumerator;
- a backslash in a comment ("\\uXXXX") is doubled, so Doxygen does not
  take it for a command.

Anything else (Markdown files, code) passes through unchanged; line
numbers are kept, so Doxygen's references stay right.
Usage: doxygen_filter.py FILE (prints the filtered file).
"""
import re
import sys

BANNER = re.compile(r"^\s*/\*\s*-{3,}")
LEADING = re.compile(r"^(\s*)/\*(?![*!])")
TRAILING = re.compile(r"(\S.*?)(\s)/\*(?![*!<])")


def filter_lines(text):
    lines, first, in_comment = [], True, False
    for line in text.split("\n"):
        if not in_comment:
            if first and LEADING.match(line):
                line = LEADING.sub(r"\1/** @file", line, count=1)
                first = False
            elif LEADING.match(line) and not BANNER.match(line):
                line = LEADING.sub(r"\1/**", line, count=1)
            elif "/*" in line and not line.lstrip().startswith(("/*", "#")):
                line = TRAILING.sub(r"\1\2/**<", line, count=1)
        if in_comment or "/*" in line:
            line = re.sub(r"\\(?=\w)", r"\\\\", line)
        start, end = line.rfind("/*"), line.rfind("*/")
        if start > end:
            in_comment = True
        elif end >= 0:
            in_comment = False
        lines.append(line)
    return lines


def main():
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".h"):
        text = "\n".join(filter_lines(text))
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
