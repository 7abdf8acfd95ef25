#!/usr/bin/env python3
"""The shared library exports exactly the public API, and all of it.

check_exports.py --lib LIBTAPEGRAD.so --include DIR [--nm NM]

The public API is what include/tapegrad.h and include/tapegrad/*.h declare
at file scope: every function (`tg_tensor *tg_relu(tg_tape *t, ...);`) and
every `extern` data object. The library's dynamic symbol table is read with
`nm -D --defined-only` (or `readelf --dyn-syms` where there is no nm).
Two TAP lines, each naming every offending symbol:

  1. nothing is exported that no header declares (tg__ helpers, static
     functions that lost their `static`: they are not API, and a program
     that links against them breaks when they change);
  2. everything declared is exported (a declaration without a definition,
     or with TG_API left off under -fvisibility=hidden, links in no
     program).

Names reserved to the implementation (a leading underscore) are the
toolchain's (sanitizer and coverage runtimes add some), not tapegrad's, and
are left out. A TAP SKIP when the library is not ELF or neither tool is
found.
"""
import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

# A string or character literal (kept), or a comment (blanked).
LEXEME = re.compile(r'("(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\')'
                    r'|(/\*.*?\*/|//[^\n]*)', re.S)
IDENT = re.compile(r"[A-Za-z_]\w*")
KEYWORDS = {"extern", "const", "volatile", "static", "inline", "struct",
            "union", "enum", "unsigned", "signed", "restrict"}


def blank(text):
    """Spaces for every character but newlines: offsets stay valid."""
    return re.sub(r"[^\n]", " ", text)


def strip_source(text):
    """text with comments and preprocessor lines blanked, `extern "C" {`
    and its closing brace removed, at the same offsets."""
    text = LEXEME.sub(lambda m: m.group(1) or blank(m.group(2)), text)
    # Directives, with their backslash continuations.
    text = re.sub(r"(?m)^[ \t]*#(?:[^\n]*\\\n)*[^\n]*",
                  lambda m: blank(m.group(0)), text)
    text = re.sub(r'extern\s*"C"\s*\{', lambda m: blank(m.group(0)), text)
    return text


def strip_attributes(stmt):
    """stmt without __attribute__((...)) and TG_API (macros of the
    declaration, not part of the declarator)."""
    stmt = re.sub(r"\bTG_API\b", " ", stmt)
    while True:
        m = re.search(r"\b__attribute__\s*\(", stmt)
        if not m:
            return stmt
        depth, i = 0, m.end() - 1
        while i < len(stmt):
            depth += {"(": 1, ")": -1}.get(stmt[i], 0)
            i += 1
            if depth == 0:
                break
        stmt = stmt[:m.start()] + " " + stmt[i:]


def file_scope_statements(text):
    """(offset, statement) for each statement at file scope of stripped
    text: split at `;` outside braces and parentheses, or after the body
    of a function defined in the header."""
    out, start, depth, i = [], 0, 0, 0
    while i < len(text):
        c = text[i]
        if c in "({[":
            depth += 1
        elif c in ")}]":
            if depth == 0:  # the `}` of extern "C": not a statement
                start = i + 1
            else:
                depth -= 1
                stmt = text[start:i + 1]
                # A function defined in the header: `...) { body }`.
                if depth == 0 and c == "}" and \
                        stmt[:stmt.index("{")].rstrip().endswith(")"):
                    out.append((start, stmt))
                    start = i + 1
        elif c == ";" and depth == 0:
            out.append((start, text[start:i]))
            start = i + 1
        i += 1
    return [(off + len(s) - len(s.lstrip()), s.strip()) for off, s in out
            if s.strip()]


def declared_name(stmt):
    """('function' | 'data' | None, name) for one file-scope statement."""
    stmt = strip_attributes(stmt)
    words = IDENT.findall(stmt.split("(")[0].split("{")[0])
    if not words or words[0] == "typedef" or "static" in words:
        return None, None
    paren = stmt.find("(")
    if paren >= 0 and "{" not in stmt[:paren]:
        m = re.search(r"([A-Za-z_]\w*)\s*$", stmt[:paren])
        if m and m.group(1) not in KEYWORDS:
            return "function", m.group(1)
        # `(*name)(...)`: a pointer to a function, a data object if extern.
        m = re.match(r"\(\s*\*\s*(?:const\s+)?([A-Za-z_]\w*)\s*\)",
                     stmt[paren:])
        if m and words[0] == "extern":
            return "data", m.group(1)
        return None, None
    if words[0] == "extern":
        head = re.split(r"[=\[]", stmt)[0]
        names = IDENT.findall(head)
        return "data", names[-1]
    return None, None


def header_api(include):
    """{name: (kind, 'header:line')} for every public declaration."""
    api = {}
    headers = [include / "tapegrad.h"] + sorted(
        (include / "tapegrad").glob("*.h"))
    for h in headers:
        raw = h.read_text(encoding="utf-8")
        text = strip_source(raw)
        for off, stmt in file_scope_statements(text):
            kind, name = declared_name(stmt)
            if kind:
                line = raw.count("\n", 0, off) + 1
                api.setdefault(name, (kind, "%s:%d" % (
                    h.relative_to(include), line)))
    return api


def exported(lib, nm):
    """Names the library defines in its dynamic symbol table."""
    if nm:
        out = subprocess.run([nm, "-D", "--defined-only", str(lib)],
                             capture_output=True, text=True, check=True)
        names = set()
        for line in out.stdout.splitlines():
            parts = line.split()
            # "address type name"; version nodes are type A, not symbols.
            if len(parts) >= 3 and parts[-2] != "A":
                names.add(parts[-1].split("@")[0])
        return names
    out = subprocess.run(["readelf", "--dyn-syms", "-W", str(lib)],
                         capture_output=True, text=True, check=True)
    names = set()
    for line in out.stdout.splitlines():
        parts = line.split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(parts) >= 8 and parts[0].endswith(":") and \
                parts[6] not in ("UND", "ABS") and \
                parts[4] in ("GLOBAL", "WEAK", "UNIQUE") and \
                parts[3] not in ("SECTION", "FILE"):
            names.add(parts[7].split("@")[0])
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lib", required=True, type=Path)
    ap.add_argument("--include", required=True, type=Path)
    ap.add_argument("--nm", help="the nm to use (default: nm on PATH)")
    opts = ap.parse_args()

    with open(opts.lib, "rb") as f:
        if f.read(4) != b"\x7fELF":
            print("1..0 # SKIP %s is not ELF" % opts.lib.name)
            return 0
    nm = opts.nm or shutil.which("nm")
    if nm is None and shutil.which("readelf") is None:
        print("1..0 # SKIP neither nm nor readelf found")
        return 0

    api = header_api(opts.include)
    names = {n for n in exported(opts.lib, nm) if not n.startswith("_")}
    print("1..2")
    ok = True
    extra = sorted(names - set(api))
    if extra:
        ok = False
        print("not ok 1 - %s exports %d symbol(s) no public header declares"
              % (opts.lib.name, len(extra)))
        for n in extra:
            print("#   exported, not declared: " + n)
    else:
        print("ok 1 - %s exports only what include/ declares (%d symbols)"
              % (opts.lib.name, len(names)))
    missing = sorted(set(api) - names)
    if missing:
        ok = False
        print("not ok 2 - %d declaration(s) in include/ not exported"
              % len(missing))
        for n in missing:
            kind, where = api[n]
            print("#   declared, not exported: %s (%s, %s)" % (n, kind, where))
    else:
        print("ok 2 - every one of the %d functions and data objects "
              "include/ declares is exported" % len(api))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
