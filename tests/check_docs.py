#!/usr/bin/env python3
"""Compile and run every C code block of README.md and docs/*.md, and
every code example in a comment of include/**/*.h.

So the documentation cannot rot: a ```c block or a header example that
stops compiling, or crashes, fails this test, with the file and line of
the block.

What a block may be:

- a complete program: it has `int main`. Compiled as it is.
- a fragment, after `<!-- snippet: wrap -->`: the body of a main that has
  a tape `t` (tg_tape *t = tg_tape_new(), freed after the block), with
  tapegrad.h, stdio.h, stdlib.h, string.h and math.h included.
- a Check test file, after `<!-- snippet: check -->`: one or more
  START_TEST(name) ... END_TEST; a main running them all is added.
- a fragment of a Check test, after `<!-- snippet: check-wrap -->`: the
  body of a START_TEST with a tape `t`, as wrap.
- a quotation, after `<!-- snippet: excerpt PATH -->`: its lines must
  appear, in order and contiguous (indentation aside), in the repository
  file PATH, a program that is itself compiled and run (once, however
  many blocks quote it), so the quotation is code that compiles and runs.

A ```text block after `<!-- snippet: output -->` is what the C block
before it prints: the program's standard output must be exactly that
(trailing spaces and blank lines aside).

A wrap, check or check-wrap comment may carry hidden code on the lines
after its first: what comes before a line `----` goes at file scope, what
comes after it at the start of the body (before the block). Readers do
not see it; the compiler does:

    <!-- snippet: wrap
    static tg_tensor *fn(tg_tape *t, tg_tensor *const *in, int n, void *ud);
    ----
    tg_tensor *x = tg_linspace(t, TG_F64, -1.0, 1.0, 4);
    -->

Links are checked too: a relative link must name a file or folder of the
repository; a line link (`file.c#L24`, `file.c#L24-L31`) must be within
the file, and when its text is code (`[`relu_forward`](...#L24)`) its
first line must be code with that name, and a range that starts a
definition must end where the definition does, so line links follow the
code they point at; a heading link (`doc.md#some-heading`) must match a heading.

Any other ```c block without `int main` is an error: mark it, or fence it
as ```text if it is not meant to compile. Blocks that need Check are
skipped (TAP SKIP) when pkg-config does not know Check.

Header examples. In a /* ... */ comment of a header under include/, a
code example is a run of lines indented by at least four spaces past the
comment's ` * ` gutter, after a blank comment line (as Markdown and
Doxygen see a code block). Every such run is C, and is compiled and run;
there is no marker and no way to exclude one, so write prose, lists and
other languages with less indentation (a list item's continuation lines
may be indented further, since they follow a non-blank line). A run that
follows a prose line with no blank line between them is an error, as it
would silently not be checked. How a run is built:

- it has `int main`: a complete program, compiled as it is;
- it has `START_TEST`: a Check test file (as `<!-- snippet: check -->`;
  it includes what it needs);
- otherwise a fragment: its `#include` lines and function definitions
  (a line at the top level of the run that starts with `static` or a
  type, has a `(` and ends with `{`, up to the `}` that closes it) go at
  file scope, and the rest is the body of a main that has a tape `t`,
  with tapegrad.h, stdio.h, stdlib.h, string.h and math.h included (as
  `<!-- snippet: wrap -->`). `...` elisions do not compile: write the
  code, or leave the line out.

Line links drift when code above them changes; `python3
tests/check_docs.py --fix-links` moves each broken one to the nearest
line that has its name (check the result, then commit it).

Usage: check_docs.py --root SRC --lib LIBTAPEGRAD.a [--include DIR]
                     [--sanitize OPT] [--coverage BOOL] [--pkg NAME...]
                     --cc CC [ARGS...]
The C compiler is the one Meson found, given last with its arguments.
--pkg names a pkg-config package the static library needs at link time
(the BLAS of a meson -Dblas=enabled build).
"""
import argparse
import concurrent.futures
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WARNINGS = ["-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
            "-D_POSIX_C_SOURCE=200809L"]
# Fragments are shown for one point; unused helpers are not a fault there.
FRAGMENT_WARNINGS = ["-Wno-unused-variable", "-Wno-unused-parameter",
                     "-Wno-unused-function",
                     "-Wno-unused-but-set-variable"]
HEADERS = ("#include <tapegrad.h>\n#include <math.h>\n#include <stdio.h>\n"
           "#include <stdlib.h>\n#include <string.h>\n")
VALGRIND = ["valgrind", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect,possible",
            "--show-leak-kinds=definite,indirect,possible", "-q"]

MARKER = re.compile(r"<!--\s*snippet:\s*(\S+)(.*)$")
FENCE = re.compile(r"^(\s*)```+\s*([\w+-]*)")


class Block:
    """One ```c block: where it is, its text, and how to build it."""

    def __init__(self, path, line, text, mode, arg, hidden_top, hidden_body):
        self.path, self.line, self.text = path, line, text
        self.mode, self.arg = mode, arg
        self.hidden_top, self.hidden_body = hidden_top, hidden_body
        self.output = None   # what it must print, if the doc says

    def where(self):
        return "%s:%d" % (self.path, self.line)


def read_marker(lines, i):
    """Parse the snippet comment starting at lines[i]; return (mode, arg,
    hidden file-scope code, hidden body code, index after the comment)."""
    m = MARKER.search(lines[i])
    rest = m.group(2)
    closed = "-->" in rest
    arg = rest.split("-->")[0].strip()
    hidden, j = [], i + 1
    while not closed and j < len(lines):
        if "-->" in lines[j]:
            before = lines[j].split("-->")[0]
            if before.strip():
                hidden.append(before)
            closed = True
        else:
            hidden.append(lines[j])
        j += 1
    if "----" in [h.strip() for h in hidden]:
        k = [h.strip() for h in hidden].index("----")
        top, body = hidden[:k], hidden[k + 1:]
    else:
        top, body = hidden, []
    return m.group(1), arg, "\n".join(top), "\n".join(body), j


def extract(path, rel):
    """Every ```c block of the file, with the snippet mode before it."""
    lines = path.read_text(encoding="utf-8").split("\n")
    blocks, pending, i = [], None, 0
    while i < len(lines):
        if MARKER.search(lines[i]):
            mode, arg, top, body, i = read_marker(lines, i)
            pending = (mode, arg, top, body)
            continue
        fence = FENCE.match(lines[i])
        if not fence:
            if lines[i].strip():
                pending = None   # a marker is for the block right after it
            i += 1
            continue
        indent, lang = fence.group(1), fence.group(2)
        start, i = i + 1, i + 1
        while i < len(lines) and not lines[i].strip().startswith("```"):
            i += 1
        body = [ln[len(indent):] if ln.startswith(indent) else ln
                for ln in lines[start:i]]
        i += 1
        if lang == "c":
            mode = pending if pending else ("", "", "", "")
            blocks.append(Block(rel, start + 1, "\n".join(body) + "\n",
                                mode[0], mode[1], mode[2], mode[3]))
        elif pending and pending[0] == "output":
            if not blocks or blocks[-1].output is not None:
                blocks.append(Block(rel, start + 1, "", "output-orphan", "",
                                    "", ""))
            else:
                blocks[-1].output = "\n".join(body)
        pending = None
    return blocks


GUTTER = re.compile(r"^\s*\*(?:$| (.*)$)")
FUNCTION_START = re.compile(r"^(?!(?:return|if|for|while|switch|do|else)\b)"
                            r"[A-Za-z_][\w \t*]*\([^;]*\{\s*(//.*)?$")


def header_runs(lines):
    """(first line number, [(line number, text)], error) for every run of
    lines indented four spaces past the gutter of a comment."""
    runs, in_comment, i = [], False, 0
    prev_blank = True
    while i < len(lines):
        line = lines[i]
        if not in_comment:
            if "/*" in line and "*/" not in line.split("/*", 1)[1]:
                in_comment, prev_blank = True, True
            i += 1
            continue
        if "*/" in line:
            in_comment = False
            i += 1
            continue
        m = GUTTER.match(line)
        if not m:
            # A comment without a gutter (a struct member's, say): prose.
            prev_blank, prev_indent = False, 1
            i += 1
            continue
        body = m.group(1) or ""
        if not body.strip():
            prev_blank = True
            i += 1
            continue
        if not body.startswith("    "):
            prev_blank = False
            prev_indent = len(body) - len(body.lstrip())
            i += 1
            continue
        if not prev_blank:
            # A continuation: fine after an indented list item, an error
            # after prose (it would be an example nobody compiles).
            if prev_indent == 0:
                runs.append((i + 1, [], "an example right after a prose "
                             "line is not compiled: put a blank comment "
                             "line before it"))
            i += 1
            while i < len(lines) and "*/" not in lines[i]:
                m = GUTTER.match(lines[i])
                b = (m.group(1) or "") if m else ""
                if not b.startswith("    "):
                    break
                i += 1
            continue
        run, j = [], i
        while j < len(lines) and "*/" not in lines[j]:
            m = GUTTER.match(lines[j])
            if not m:
                break
            b = m.group(1) or ""
            if b.startswith("    "):
                run.append((j + 1, b[4:]))
            elif b.strip():
                break
            j += 1
        runs.append((i + 1, run, None))
        prev_blank = False
        prev_indent = 4
        i = j
    return runs


def numbered(rel, run):
    """The lines of run, with a #line directive wherever they skip."""
    out, expect = [], None
    for k, text in run:
        if k != expect:
            out.append('#line %d "%s"' % (k, rel))
        out.append(text)
        expect = k + 1
    return "\n".join(out) + "\n"


def extract_header(path, rel):
    """Every example in the comments of a header, as Blocks."""
    blocks = []
    for first, run, error in header_runs(
            path.read_text(encoding="utf-8").split("\n")):
        if error:
            blocks.append(Block(rel, first, "", "header-error", error, "",
                                ""))
            continue
        text = "\n".join(t for _, t in run)
        if re.search(r"\bint\s+main\s*\(", text):
            blocks.append(Block(rel, first, numbered(rel, run), "", "", "",
                                ""))
            continue
        if "START_TEST" in text:
            blocks.append(Block(rel, first, numbered(rel, run), "check",
                                "", "", ""))
            continue
        top, body, depth, in_function = [], [], 0, False
        for k, t in run:
            if depth == 0 and not in_function and (
                    t.startswith("#") or FUNCTION_START.match(t) or
                    (t.startswith("static ") and "(" in t and
                     not t.rstrip().endswith(";") and "=" not in t)):
                in_function = not t.startswith("#")
            (top if in_function or t.startswith("#") else body).append(
                (k, t))
            if in_function:
                depth += t.count("{") - t.count("}")
                if depth == 0 and "}" in t:
                    in_function = False
        block = Block(rel, body[0][0] if body else first,
                      numbered(rel, body) if body else "", "wrap", "",
                      numbered(rel, top) if top else "", "")
        blocks.append(block)
    return blocks


def check_main(text):
    """A main running every START_TEST of text, for Check blocks."""
    names = re.findall(r"START_TEST\s*\(\s*(\w+)\s*\)", text)
    adds = "".join("    tcase_add_test(tc, %s);\n" % n for n in names)
    return ("int main(void)\n{\n"
            "    Suite *s = suite_create(\"docs\");\n"
            "    TCase *tc = tcase_create(\"docs\");\n" + adds +
            "    suite_add_tcase(s, tc);\n"
            "    SRunner *sr = srunner_create(s);\n"
            "    srunner_run_all(sr, CK_NORMAL);\n"
            "    int failed = srunner_ntests_failed(sr);\n"
            "    srunner_free(sr);\n"
            "    return failed == 0 ? 0 : 1;\n}\n"), len(names)


def line_directive(block, offset=0):
    return '#line %d "%s"\n' % (block.line + offset, block.path)


def wrapped(block, check):
    """The source of a wrap or check-wrap block."""
    head = "#include <check.h>\n" if check else ""
    head += HEADERS + "#include <tapegrad/check.h>\n" * check
    head += block.hidden_top + "\n"
    opening = "START_TEST(snippet)\n{\n" if check else "int main(void)\n{\n"
    # Unindented, so no compiler sees misleading indentation around it.
    body = ("tg_tape *t = tg_tape_new();\n(void)t;\n" + block.hidden_body +
            "\n" + line_directive(block) + block.text + "tg_tape_free(t);\n")
    if check:
        return head + opening + body + "}\nEND_TEST\n" + check_main(
            "START_TEST(snippet)")[0]
    return head + opening + body + "return 0;\n}\n"


def source_of(block, root):
    """(C source, needs Check, extra flags) for a block, or an error."""
    mode = block.mode
    if mode == "" and re.search(r"\bint\s+main\s*\(", block.text):
        return line_directive(block) + block.text, False, [], None
    if mode == "wrap":
        return wrapped(block, False), False, FRAGMENT_WARNINGS, None
    if mode == "check-wrap":
        return wrapped(block, True), True, FRAGMENT_WARNINGS, None
    if mode == "check":
        main, n = check_main(block.text)
        if n == 0:
            return None, False, [], "a check block without START_TEST"
        top = block.hidden_top + "\n" if block.hidden_top else ""
        return (top + line_directive(block) + block.text + main, True,
                FRAGMENT_WARNINGS, None)
    if mode == "header-error":
        return None, False, [], block.arg
    if mode == "output-orphan":
        return None, False, [], ("an output block with no C block (or a "
                                 "second one) before it")
    if mode == "quoted-file":
        source = (root / block.arg).read_text(encoding="utf-8")
        if not re.search(r"\bint\s+main\s*\(", source):
            return None, False, [], "%s has no main to run" % block.arg
        return '#line 1 "%s"\n' % block.arg + source, False, [], None
    if mode == "":
        return None, False, [], ("a ```c block that is not a program (no "
                                 "int main) and has no snippet marker: mark "
                                 "it (see tests/check_docs.py) or fence it "
                                 "as ```text")
    return None, False, [], "unknown snippet mode %r" % mode


def normalise(lines):
    return [ln.strip() for ln in lines]


def excerpt_error(block, root):
    """Why the quotation is not in its file, or None if it is."""
    path = root / block.arg
    if not block.arg or not path.is_file():
        return "excerpt of a missing file %r" % block.arg
    quoted = normalise(block.text.strip("\n").split("\n"))
    whole = normalise(path.read_text(encoding="utf-8").split("\n"))
    n = len(quoted)
    if not any(whole[k:k + n] == quoted for k in range(len(whole) - n + 1)):
        return "the quotation is not (any more) in %s: update it" % block.arg
    return None


LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
LINE_ANCHOR = re.compile(r"^L(\d+)(?:-L(\d+))?$")


def slug(heading):
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def is_comment(line):
    return line.lstrip().startswith(("/*", "*", "//", "#"))


def definition_end(lines, first):
    """The line of the `}` that closes a definition starting at column 0 on
    line first (1-based), or None if line first does not start one."""
    if not lines[first - 1][:1].strip() or is_comment(lines[first - 1]):
        return None
    for k in range(first, len(lines) + 1):
        if lines[k - 1].startswith("}"):
            return k
    return None


def moved_anchor(dest, anchor, label):
    """Where a code-labelled line link's name is now: the same span moved to
    the occurrence nearest the old one, or None."""
    m = LINE_ANCHOR.match(anchor)
    code = re.fullmatch(r"`([^`]+)`", label.strip())
    if not m or not code or not dest.is_file():
        return None
    name = code.group(1).rstrip("()")
    first = int(m.group(1))
    span = int(m.group(2) or first) - first
    lines = dest.read_text(encoding="utf-8").split("\n")
    hits = [k + 1 for k, ln in enumerate(lines)
            if name in ln and not is_comment(ln)]
    if not hits:
        return None
    new = min(hits, key=lambda k: (abs(k - first), k))
    if not m.group(2):
        return "L%d" % new
    end = definition_end(lines, new)
    return "L%d-L%d" % (new, end if end else new + span)


def fix_links(doc):
    """Rewrite the line links of doc whose names moved; say which."""
    text = doc.read_text(encoding="utf-8")

    def fix(m):
        label, target = m.group(1), m.group(2)
        path, _, anchor = target.partition("#")
        dest = (doc.parent / path).resolve()
        if not path or re.match(r"^[a-z]+:", target) or not anchor:
            return m.group(0)
        if not anchor_errors("", dest, anchor, label):
            return m.group(0)
        new = moved_anchor(dest, anchor, label)
        if new is None:
            return m.group(0)
        print("%s: %s#%s -> #%s" % (doc, path, anchor, new))
        return "[%s](%s#%s)" % (label, path, new)
    doc.write_text(LINK.sub(fix, text), encoding="utf-8")


def link_errors(doc, root):
    """What is wrong with the relative links of one Markdown file."""
    errors = []
    text = doc.read_text(encoding="utf-8")
    for k, line in enumerate(text.split("\n"), 1):
        for label, target in LINK.findall(line):
            if re.match(r"^[a-z]+:", target):
                continue   # http:, https:, mailto: are not ours to check
            where = "%s:%d: %s" % (doc.relative_to(root), k, target)
            path, _, anchor = target.partition("#")
            dest = (doc.parent / path).resolve() if path else doc
            if root.resolve() not in dest.parents and dest != root.resolve():
                errors.append(where + " leaves the repository")
            elif not dest.exists():
                errors.append(where + " names a missing file")
            elif anchor:
                errors += anchor_errors(where, dest, anchor, label)
    return errors


def anchor_errors(where, dest, anchor, label):
    lines = dest.read_text(encoding="utf-8").split("\n")
    m = LINE_ANCHOR.match(anchor)
    if m:
        first = int(m.group(1))
        last = int(m.group(2) or first)
        if not 1 <= first <= last <= len(lines):
            return [where + " is past the end (%d lines)" % len(lines)]
        code = re.fullmatch(r"`([^`]+)`", label.strip())
        name = code.group(1).rstrip("()") if code else None
        fix = ("; `python3 tests/check_docs.py --fix-links` moves it to the "
               "nearest line of code that has the name")
        if name and (name not in lines[first - 1] or
                     is_comment(lines[first - 1])):
            return [where + ": line %d is not code naming %s (any more)%s"
                    % (first, name, fix)]
        end = definition_end(lines, first)
        if name and m.group(2) and end is not None and end != last:
            return [where + ": the definition of %s now ends on line %d%s"
                    % (name, end, fix)]
        return []
    if dest.suffix == ".md":
        heads = [slug(ln.lstrip("#")) for ln in lines if ln.startswith("#")]
        if anchor not in heads:
            return [where + ": no such heading"]
    return []


def check_flags():
    """Compiler and linker flags for Check, or None if unknown."""
    if shutil.which("pkg-config") is None:
        return None
    r = subprocess.run(["pkg-config", "--cflags", "--libs", "check"],
                       capture_output=True, text=True, check=False)
    return shlex.split(r.stdout) if r.returncode == 0 else None


def build_and_run(block, n, opts, root, tmp, ck_flags):
    """Return a TAP line for block number n."""
    unmarked = "program" if re.search(r"\bint\s+main\s*\(", block.text) \
        else "unmarked"
    name = "%s (%s)" % (block.where(), block.mode or unmarked)
    if block.mode == "excerpt":
        error = excerpt_error(block, root)
        if error:
            return False, "not ok %d - %s: %s" % (n, name, error)
        return True, "ok %d - %s quotes %s" % (n, name, block.arg)
    source, needs_check, extra, error = source_of(block, root)
    if error:
        return False, "not ok %d - %s: %s" % (n, name, error)
    if needs_check and ck_flags is None:
        return True, "ok %d - %s # SKIP Check not found by pkg-config" % (
            n, name)
    c_file = tmp / ("snippet%d.c" % n)
    exe = tmp / ("snippet%d" % n)
    c_file.write_text(source, encoding="utf-8")
    cmd = (opts.cc + WARNINGS + extra + opts.extra_cflags +
           ["-I", opts.include, "-iquote", str(root), str(c_file), "-o", str(exe),
            opts.lib] + opts.lib_deps + ["-lm", "-pthread"] +
           (ck_flags if needs_check else []))
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        return False, "not ok %d - %s does not compile:\n%s" % (
            n, name, comment(r.stdout + r.stderr))
    run = [str(exe)]
    if os.environ.get("TG_VALGRIND") and shutil.which("valgrind"):
        run = VALGRIND + run
    r = subprocess.run(run, capture_output=True, text=True, check=False,
                       cwd=tmp, timeout=300)
    if r.returncode != 0:
        return False, "not ok %d - %s exited %d:\n%s" % (
            n, name, r.returncode, comment(r.stdout + r.stderr))
    if block.output is not None and trimmed(r.stdout) != trimmed(
            block.output):
        return False, "not ok %d - %s prints something else:\n%s" % (
            n, name, comment(r.stdout))
    return True, "ok %d - %s%s" % (
        n, name, "" if block.output is None else ", output as shown")


def trimmed(text):
    return "\n".join(ln.rstrip() for ln in text.strip("\n").split("\n"))


def comment(text):
    return "\n".join("# " + ln for ln in text.strip().split("\n")[-40:])


def main():
    if sys.argv[1:2] == ["--fix-links"]:
        root = Path(__file__).resolve().parent.parent
        for d in [root / "README.md"] + sorted((root / "docs").glob("*.md")):
            if d.is_file():
                fix_links(d)
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--lib", required=True)
    ap.add_argument("--include", help="tapegrad's include folder "
                    "(default: ROOT/include)")
    ap.add_argument("--sanitize", default="none")
    ap.add_argument("--coverage", default="false")
    ap.add_argument("--pkg", action="append", default=[])
    ap.add_argument("--cc", nargs=argparse.REMAINDER, required=True)
    opts = ap.parse_args()
    root = Path(opts.root)
    opts.lib = os.path.abspath(opts.lib)
    opts.include = os.path.abspath(opts.include or root / "include")
    opts.extra_cflags = []
    opts.lib_deps = []
    for pkg in opts.pkg:
        r = subprocess.run(["pkg-config", "--libs", pkg], capture_output=True,
                           text=True, check=False)
        if r.returncode != 0:
            sys.exit("check_docs.py: pkg-config --libs %s failed: %s" %
                     (pkg, r.stderr.strip()))
        opts.lib_deps += shlex.split(r.stdout)
    if opts.sanitize not in ("", "none"):
        opts.extra_cflags.append("-fsanitize=" + opts.sanitize)
    if opts.coverage == "true":
        opts.extra_cflags.append("--coverage")
    docs = [root / "README.md"] + sorted((root / "docs").glob("*.md"))
    blocks = []
    for d in docs:
        if d.is_file():
            blocks += extract(d, d.relative_to(root).as_posix())
    for h in sorted((root / "include").glob("**/*.h")):
        blocks += extract_header(h, h.relative_to(root).as_posix())
    # Each file the docs quote is built and run once, as its own block.
    quoted = sorted({b.arg for b in blocks if b.mode == "excerpt"
                     and (root / b.arg).is_file()})
    blocks += [Block(q, 1, "", "quoted-file", q, "", "") for q in quoted]
    docs = [d for d in docs if d.is_file()]
    print("1..%d" % (len(blocks) + len(docs)))
    ck_flags = check_flags()
    with tempfile.TemporaryDirectory() as tmp:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            jobs = [pool.submit(build_and_run, b, k + 1, opts, root,
                                Path(tmp), ck_flags)
                    for k, b in enumerate(blocks)]
            results = [j.result() for j in jobs]
    n = len(results)
    for d in docs:
        n += 1
        errors = link_errors(d, root)
        results.append((not errors, "%s %d - links of %s%s" % (
            "not ok" if errors else "ok", n, d.relative_to(root).as_posix(),
            ":\n" + comment("\n".join(errors)) if errors else "")))
    for _, line in results:
        print(line)
    sys.exit(0 if all(ok for ok, _ in results) else 1)


if __name__ == "__main__":
    main()
