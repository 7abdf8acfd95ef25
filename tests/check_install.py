#!/usr/bin/env python3
"""Use tapegrad as an outside project does, and check that it works.

check_install.py install --build DIR --version V --source SRC --cc CC...
    `meson install` the build into a temporary DESTDIR, check that every
    public header is there, then compile tests/consumer.c with
    `pkg-config --cflags --libs tapegrad` (PKG_CONFIG_PATH pointing into
    the DESTDIR, PKG_CONFIG_SYSROOT_DIR set to it, as a cross build's
    sysroot) and run it against the installed shared library.

check_install.py subproject --meson MESON --version V --source SRC --cc CC...
    Copy tests/subproject/ and tests/consumer.c to a temporary folder, copy
    the repository into its subprojects/tapegrad, and build and run the
    consumer there: dependency('tapegrad') must find the subproject's
    override.

Both print TAP and skip cleanly (exit 0, `1..0 # SKIP ...`) when a tool
they need is missing: pkg-config for install, ninja for both.
"""
import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

VALGRIND = ["valgrind", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect,possible",
            "--show-leak-kinds=definite,indirect,possible", "-q"]


def skip(reason):
    print("1..0 # SKIP " + reason)
    sys.exit(0)


def run(cmd, what, **kw):
    """Run cmd; on failure print a TAP failure with its output and exit."""
    r = subprocess.run(cmd, capture_output=True, text=True, check=False,
                       **kw)
    if r.returncode != 0:
        print("not ok 1 - %s failed (exit %d): %s" % (
            what, r.returncode, " ".join(shlex.quote(c) for c in cmd)))
        for line in (r.stdout + r.stderr).strip().split("\n")[-60:]:
            print("# " + line)
        sys.exit(1)
    return r.stdout


def run_program(exe, env=None):
    """Run a built consumer (under valgrind in the valgrind setup)."""
    cmd = [str(exe)]
    if os.environ.get("TG_VALGRIND") and shutil.which("valgrind"):
        cmd = VALGRIND + cmd
    return run(cmd, "running " + Path(exe).name, env=env)


def find_one(root, pattern, what):
    found = sorted(root.rglob(pattern))
    if not found:
        print("not ok 1 - no %s (%s) under the install" % (what, pattern))
        sys.exit(1)
    return found[0]


def check_headers(source, prefix_include):
    """Every public header of the source tree is installed, and only those."""
    public = source / "include"
    want = sorted(p.relative_to(public).as_posix()
                  for p in public.rglob("*.h"))
    have = sorted(p.relative_to(prefix_include).as_posix()
                  for p in prefix_include.rglob("*.h"))
    if want != have:
        print("not ok 1 - installed headers %s, expected %s" % (have, want))
        sys.exit(1)


def sanitize_flags(opts):
    return ["-fsanitize=" + opts.sanitize] if opts.sanitize not in (
        "", "none") else []


def install(opts):
    if shutil.which("pkg-config") is None:
        skip("pkg-config not found")
    print("1..1")
    build = Path(opts.build).resolve()
    source = Path(opts.source).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp) / "dest"
        run([opts.meson, "install", "-C", str(build), "--no-rebuild",
             "--quiet", "--destdir", str(dest)], "meson install")
        pc = find_one(dest, "tapegrad.pc", "pkg-config file")
        check_headers(source, find_one(dest, "tapegrad.h",
                                       "tapegrad.h").parent)
        # tapegrad.pc from the DESTDIR only, and the packages it requires
        # (a -Dblas=enabled build's BLAS) from the system's own folders.
        system = run(["pkg-config", "--variable", "pc_path", "pkg-config"],
                     "pkg-config --variable pc_path").strip()
        env = dict(os.environ, PKG_CONFIG_PATH=str(pc.parent),
                   PKG_CONFIG_SYSROOT_DIR=str(dest),
                   PKG_CONFIG_LIBDIR=os.pathsep.join([str(pc.parent),
                                                      system]))
        version = run(["pkg-config", "--modversion", "tapegrad"],
                      "pkg-config --modversion", env=env).strip()
        if version != opts.version:
            print("not ok 1 - pkg-config says version %s, meson.build %s" %
                  (version, opts.version))
            sys.exit(1)
        flags = shlex.split(run(["pkg-config", "--cflags", "--libs",
                                 "tapegrad"], "pkg-config", env=env))
        exe = Path(tmp) / "consumer"
        run(opts.cc + ["-std=c11", "-Wall", "-Wextra", "-Wpedantic",
                       "-Werror", '-DTG_EXPECT_VERSION="%s"' % opts.version,
                       str(source / "tests" / "consumer.c"), "-o", str(exe)]
            + sanitize_flags(opts) + flags, "compiling the consumer")
        lib = find_one(dest, "libtapegrad.so", "shared library").parent
        out = run_program(exe, env=dict(os.environ,
                                        LD_LIBRARY_PATH=str(lib)))
    print("ok 1 - built with pkg-config against the DESTDIR install: " +
          out.strip())


def subproject(opts):
    if shutil.which("ninja") is None:
        skip("ninja not found")
    print("1..1")
    source = Path(opts.source).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        outer = Path(tmp) / "outer"
        shutil.copytree(source / "tests" / "subproject", outer)
        shutil.copy(source / "tests" / "consumer.c", outer)
        # A copy, not a link: Meson refuses subprojects that point outside
        # the project. Build folders and git's data stay behind.
        shutil.copytree(source, outer / "subprojects" / "tapegrad",
                        ignore=shutil.ignore_patterns(
                            "build*", ".git", "__pycache__", "data"))
        build = Path(tmp) / "build"
        env = dict(os.environ, CC=" ".join(shlex.quote(c) for c in opts.cc))
        run([opts.meson, "setup", str(build), str(outer),
             "--force-fallback-for=tapegrad",
             "-Dexpect_version=" + opts.version], "meson setup", env=env)
        run(["ninja", "-C", str(build), "consumer"], "building the consumer")
        out = run_program(build / "consumer")
    print("ok 1 - built as a Meson subproject through dependency("
          "'tapegrad'): " + out.strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["install", "subproject"])
    ap.add_argument("--build", help="the build folder to install")
    ap.add_argument("--source", required=True)
    ap.add_argument("--meson", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--sanitize", default="none")
    ap.add_argument("--cc", nargs=argparse.REMAINDER, required=True)
    opts = ap.parse_args()
    if opts.mode == "install":
        install(opts)
    else:
        subproject(opts)


if __name__ == "__main__":
    main()
