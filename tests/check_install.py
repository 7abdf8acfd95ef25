#!/usr/bin/env python3
"""Use tapegrad as an outside project does, and check that it works.

The README's section "Using it from your own build" is what a user
follows; the modes prefix, subproject and cmake run the blocks it marks
(`<!-- install: NAME -->` before a fenced block) as they are written, so
the README cannot drift from what works. tests/consumer.c plays the
user's my_program.c.

check_install.py install --build DIR --version V --source SRC --cc CC...
    `meson install` the build into a temporary DESTDIR, check that every
    public header and the CMake package are there, then compile
    tests/consumer.c with `pkg-config --cflags --libs tapegrad` (with
    --static when the build made no shared library; PKG_CONFIG_PATH
    pointing into the DESTDIR, PKG_CONFIG_SYSROOT_DIR set to it, as a
    cross build's sysroot) and run it.

check_install.py prefix --source SRC ...
    In a copy of the repository, with HOME a temporary folder, run the
    README's block `prefix` with bash: meson setup --prefix, compile,
    install, PKG_CONFIG_PATH, and the consumer linked three ways (rpath,
    LD_LIBRARY_PATH, -static), each run.

check_install.py subproject --meson MESON --version V --source SRC ...
    A consumer project (tests/subproject/) whose subprojects/tapegrad.wrap
    is the README's block `wrap`, its url pointing at a git repository
    made from a copy of this one (without git: the copy is put in
    subprojects/tapegrad, where Meson looks first). Built three times:
    tapegrad inheriting the consumer's project() default_library=static,
    and asked for shared and for static through dependency()'s
    default_options. Each time the consumer runs, links libtapegrad.so or
    not as asked, builds no tapegrad target but the library, and its own
    `meson test` runs its one test only.

check_install.py cmake --build DIR --version V --source SRC ...
    `meson install` the build into a temporary DESTDIR and build the
    README's block `cmake` as a CMakeLists.txt with CMake
    (CMAKE_PREFIX_PATH into the DESTDIR); run my_program and, when
    libtapegrad.a is installed, my_program_static. Then check that the
    version file turns down versions the API may differ from.

Each prints TAP and skips cleanly (exit 0, `1..0 # SKIP ...`) when a tool
it needs is missing: pkg-config for install and prefix, ninja for all
but install, cmake for cmake.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

VALGRIND = ["valgrind", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect,possible",
            "--show-leak-kinds=definite,indirect,possible", "-q"]

# What a copy of the repository leaves behind: build folders, git's data,
# the examples' output.
COPY_IGNORE = shutil.ignore_patterns("build*", ".git", "__pycache__",
                                     "data")


def skip(reason):
    print("1..0 # SKIP " + reason)
    sys.exit(0)


def fail(message, output=""):
    print("not ok 1 - " + message)
    for line in output.strip().split("\n")[-60:]:
        if line:
            print("# " + line)
    sys.exit(1)


def run(cmd, what, **kw):
    """Run cmd; on failure print a TAP failure with its output and exit."""
    r = subprocess.run(cmd, capture_output=True, text=True, check=False,
                       **kw)
    if r.returncode != 0:
        fail("%s failed (exit %d): %s" % (
            what, r.returncode, " ".join(shlex.quote(str(c)) for c in cmd)),
            r.stdout + r.stderr)
    return r.stdout


def valgrind_prefix():
    """The valgrind command line in the valgrind test setup, else []."""
    if os.environ.get("TG_VALGRIND") and shutil.which("valgrind"):
        return VALGRIND
    return []


def run_program(exe, env=None):
    """Run a built consumer (under valgrind in the valgrind setup)."""
    return run(valgrind_prefix() + [str(exe)], "running " + Path(exe).name,
               env=env)


def find_one(root, pattern, what):
    found = sorted(root.rglob(pattern))
    if not found:
        fail("no %s (%s) under the install" % (what, pattern))
    return found[0]


def check_headers(source, prefix_include):
    """Every public header of the source tree is installed, and only those."""
    public = source / "include"
    want = sorted(p.relative_to(public).as_posix()
                  for p in public.rglob("*.h"))
    have = sorted(p.relative_to(prefix_include).as_posix()
                  for p in prefix_include.rglob("*.h"))
    if want != have:
        fail("installed headers %s, expected %s" % (have, want))


def sanitize_flags(opts):
    return ["-fsanitize=" + opts.sanitize] if opts.sanitize not in (
        "", "none") else []


def readme_block(source, name):
    """The fenced block after `<!-- install: NAME -->` in README.md."""
    lines = (source / "README.md").read_text(encoding="utf-8").split("\n")
    marker = "<!-- install: %s -->" % name
    if marker not in lines:
        fail("README.md has no block marked %s" % marker)
    i = lines.index(marker) + 1
    if i >= len(lines) or not lines[i].startswith("```"):
        fail("README.md: %s is not followed by a fenced block" % marker)
    end = lines.index("```", i + 1)
    return "\n".join(lines[i + 1:end]) + "\n"


def needed_libs(exe):
    """The DT_NEEDED entries of an ELF program (None without readelf)."""
    if shutil.which("readelf") is None:
        return None
    out = run(["readelf", "-d", str(exe)], "readelf -d")
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def install_to(opts, dest):
    run([opts.meson, "install", "-C", str(Path(opts.build).resolve()),
         "--no-rebuild", "--quiet", "--destdir", str(dest)], "meson install")


def install(opts):
    if shutil.which("pkg-config") is None:
        skip("pkg-config not found")
    print("1..1")
    source = Path(opts.source).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp) / "dest"
        install_to(opts, dest)
        pc = find_one(dest, "tapegrad.pc", "pkg-config file")
        check_headers(source, find_one(dest, "tapegrad.h",
                                       "tapegrad.h").parent)
        find_one(dest, "tapegradConfig.cmake", "CMake package")
        find_one(dest, "tapegradConfigVersion.cmake", "CMake version file")
        shared = sorted(dest.rglob("libtapegrad.so"))
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
            fail("pkg-config says version %s, meson.build %s" %
                 (version, opts.version))
        # A static-only install links libtapegrad.a, which needs
        # Libs.private: pkg-config --static, as the README says.
        how = [] if shared else ["--static"]
        flags = shlex.split(run(["pkg-config"] + how + ["--cflags", "--libs",
                                                        "tapegrad"],
                                "pkg-config", env=env))
        exe = Path(tmp) / "consumer"
        run(opts.cc + ["-std=c11", "-Wall", "-Wextra", "-Wpedantic",
                       "-Werror", '-DTG_EXPECT_VERSION="%s"' % opts.version,
                       str(source / "tests" / "consumer.c"), "-o", str(exe)]
            + sanitize_flags(opts) + flags, "compiling the consumer")
        run_env = dict(os.environ)
        if shared:
            run_env["LD_LIBRARY_PATH"] = str(shared[0].parent)
        out = run_program(exe, env=run_env)
    print("ok 1 - built with pkg-config %sagainst the DESTDIR install: %s" %
          ("--static " if how else "", out.strip()))


def prefix(opts):
    for tool in ("pkg-config", "ninja", "cc", "bash"):
        if shutil.which(tool) is None:
            skip(tool + " not found")
    print("1..1")
    source = Path(opts.source).resolve()
    script = readme_block(source, "prefix")
    # In the valgrind setup the dynamically linked runs go under valgrind
    # (not the -static one: valgrind cannot follow a static C library's
    # allocations, and its own string functions make noise there).
    wrap = " ".join(valgrind_prefix())
    if wrap:
        script = re.sub(r"(^|\s)(\./my_program)(?=\s|$)",
                        lambda m: m.group(1) + wrap + " " + m.group(2),
                        script, flags=re.M)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "tapegrad"
        shutil.copytree(source, work, ignore=COPY_IGNORE)
        shutil.copy(source / "tests" / "consumer.c", work / "my_program.c")
        home = Path(tmp) / "home"
        home.mkdir()
        env = {k: v for k, v in os.environ.items()
               if k not in ("LD_LIBRARY_PATH", "PKG_CONFIG_PATH",
                            "PKG_CONFIG_LIBDIR", "PKG_CONFIG_SYSROOT_DIR")}
        env["HOME"] = str(home)
        out = run(["bash", "-e", "-u", "-o", "pipefail", "-c", script],
                  "the README's prefix install commands", cwd=work,
                  env=env)
        runs = [line for line in out.split("\n")
                if line.startswith("tapegrad %s:" % opts.version)]
        if len(runs) != 3:
            fail("expected the three README runs of my_program to print "
                 "'tapegrad %s: ...', got %d" % (opts.version, len(runs)),
                 out)
        libdir = home / ".local" / "lib"
        for want in ("libtapegrad.a", "pkgconfig/tapegrad.pc",
                     "cmake/tapegrad/tapegradConfig.cmake"):
            if not (libdir / want).exists():
                fail("the README's install left no %s in %s" % (want,
                                                                 libdir))
        needed = needed_libs(work / "my_program_static")
        if needed:
            fail("my_program_static needs shared libraries: %s" % needed)
        needed = needed_libs(work / "my_program")
        if needed is not None and not any(n.startswith("libtapegrad.so")
                                          for n in needed):
            fail("my_program does not load libtapegrad.so: %s" % needed)
    print("ok 1 - the README's prefix install: meson install into "
          "$HOME/.local, then rpath, LD_LIBRARY_PATH and -static: " +
          runs[0])


def make_git_repo(source, repo, tag):
    """A git repository of a copy of source, its one commit tagged."""
    shutil.copytree(source, repo, ignore=COPY_IGNORE)
    git = ["git", "-C", str(repo), "-c", "user.name=check_install",
           "-c", "user.email=check_install@localhost",
           "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"]
    run(git + ["init", "-q"], "git init")
    run(git + ["add", "-A"], "git add")
    run(git + ["commit", "-q", "-m", "tapegrad"], "git commit")
    run(git + ["tag", tag], "git tag")


def subproject(opts):
    if shutil.which("ninja") is None:
        skip("ninja not found")
    source = Path(opts.source).resolve()
    wrap = readme_block(source, "wrap")
    m = re.search(r"^revision = (\S+)$", wrap, flags=re.M)
    if not m or m.group(1) != "v" + opts.version:
        print("1..1")
        fail("README.md's tapegrad.wrap should name revision v%s (the "
             "version in meson.build), not %s" % (
                 opts.version, m.group(1) if m else "none"))
    cases = [
        # (what, meson setup options, links libtapegrad.so)
        ("the consumer's project() default_library=static", [], False),
        ("dependency(default_options : ['default_library=shared'])",
         ["-Dtapegrad_library=shared"], True),
        ("dependency(default_options : ['default_library=static']) in a "
         "-Ddefault_library=shared project",
         ["-Ddefault_library=shared", "-Dtapegrad_library=static"], False),
    ]
    print("1..%d" % len(cases))
    with tempfile.TemporaryDirectory() as tmp:
        outer = Path(tmp) / "outer"
        shutil.copytree(source / "tests" / "subproject", outer)
        shutil.copy(source / "tests" / "consumer.c", outer)
        (outer / "subprojects").mkdir()
        if shutil.which("git"):
            repo = Path(tmp) / "tapegrad.git"
            make_git_repo(source, repo, m.group(1))
            wrap = re.sub(r"^url = .*$", "url = " + repo.as_uri(), wrap,
                          flags=re.M)
            how = "the README's wrap, fetched with git"
        else:
            shutil.copytree(source, outer / "subprojects" / "tapegrad",
                            ignore=COPY_IGNORE)
            how = "the README's wrap over a copy (no git)"
        (outer / "subprojects" / "tapegrad.wrap").write_text(wrap)
        env = dict(os.environ, CC=" ".join(shlex.quote(c) for c in opts.cc))
        for n, (what, setup, shared) in enumerate(cases, 1):
            build = Path(tmp) / ("build%d" % n)
            run([opts.meson, "setup", str(build), str(outer),
                 "--force-fallback-for=tapegrad",
                 "-Dexpect_version=" + opts.version] + setup,
                "meson setup " + " ".join(setup), env=env)
            run(["ninja", "-C", str(build)], "building the consumer")
            out = run_program(build / "consumer")
            needed = needed_libs(build / "consumer")
            if needed is not None and shared != any(
                    x.startswith("libtapegrad.so") for x in needed):
                fail("%s: the consumer should %slink libtapegrad.so, it "
                     "needs %s" % (what, "" if shared else "not ", needed))
            targets = json.loads(run([opts.meson, "introspect", "--targets",
                                      str(build)], "meson introspect"))
            extra = sorted(t["name"] for t in targets
                           if t["subproject"] and t["build_by_default"]
                           and not t["name"].startswith("tapegrad"))
            kinds = sorted(t["type"] for t in targets
                           if t["subproject"] and t["build_by_default"])
            want = ["shared library"] if shared else ["static library"]
            if extra or kinds != want:
                fail("%s: the subproject builds %s (%s), not only its %s" %
                     (what, kinds, extra, want[0]))
            tests = run([opts.meson, "test", "-C", str(build), "--list",
                         "--no-rebuild"],
                        "meson test --list").split()
            if tests != ["consumer"]:
                fail("%s: the consumer's meson test lists %s, not only its "
                     "own test" % (what, tests))
            run([opts.meson, "test", "-C", str(build), "--no-rebuild",
                 "--quiet"], "the consumer's meson test")
            print("ok %d - %s through %s (%s): %s" % (
                n, "shared" if shared else "static", how, what, out.strip()))


CMAKE_VERSION_PROBE = """cmake_minimum_required(VERSION 3.13)
project(version_probe C)
foreach(v IN ITEMS %s)
  find_package(tapegrad ${v} QUIET PATHS "${TG_DIR}" NO_DEFAULT_PATH)
  if(tapegrad_FOUND)
    message(FATAL_ERROR "find_package(tapegrad ${v}) accepted ${tapegrad_VERSION}")
  endif()
endforeach()
find_package(tapegrad %s EXACT REQUIRED PATHS "${TG_DIR}" NO_DEFAULT_PATH)
"""


def cmake(opts):
    for tool in ("cmake", "ninja"):
        if shutil.which(tool) is None:
            skip(tool + " not found")
    print("1..1")
    source = Path(opts.source).resolve()
    major, minor, patch = (int(x) for x in opts.version.split("."))
    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp) / "dest"
        install_to(opts, dest)
        config = find_one(dest, "tapegradConfig.cmake", "CMake package")
        # CMAKE_PREFIX_PATH is the prefix: config is <libdir>/cmake/tapegrad.
        prefix_dir = config.parent.parent.parent
        while not (prefix_dir / "include").is_dir() and prefix_dir != dest:
            prefix_dir = prefix_dir.parent
        project = Path(tmp) / "my_program"
        project.mkdir()
        (project / "CMakeLists.txt").write_text(readme_block(source,
                                                             "cmake"))
        shutil.copy(source / "tests" / "consumer.c",
                    project / "my_program.c")
        build = Path(tmp) / "build"
        flags = " ".join(sanitize_flags(opts))
        run(["cmake", "-S", str(project), "-B", str(build), "-G", "Ninja",
             "-DCMAKE_PREFIX_PATH=" + str(prefix_dir),
             "-DCMAKE_C_COMPILER=" + opts.cc[0],
             "-DCMAKE_C_FLAGS=" + " ".join(opts.cc[1:] + [flags]),
             "-DCMAKE_EXE_LINKER_FLAGS=" + flags],
            "cmake configure")
        run(["cmake", "--build", str(build)], "cmake --build")
        out = run_program(build / "my_program")
        static = sorted(dest.rglob("libtapegrad.a"))
        names = ["my_program"]
        if static:
            run_program(build / "my_program_static")
            needed = needed_libs(build / "my_program_static")
            if needed and any(n.startswith("libtapegrad") for n in needed):
                fail("my_program_static loads %s" % needed)
            names.append("my_program_static")
        elif (build / "my_program_static").exists():
            fail("tapegrad::tapegrad_static without libtapegrad.a")
        # The version file: this version, exactly; not a later one, nor
        # another minor before 1.0 (or another major after).
        other = (["%d.%d" % (major, minor + 1), "%d.0" % (major + 1)] +
                 (["%d.%d" % (major, minor - 1)] if major == 0 and minor
                  else []))
        probe = Path(tmp) / "probe"
        probe.mkdir()
        (probe / "CMakeLists.txt").write_text(CMAKE_VERSION_PROBE % (
            " ".join(other), opts.version))
        # TG_DIR names the folder, so that only this install is considered.
        run(["cmake", "-S", str(probe), "-B", str(Path(tmp) / "pbuild"),
             "-DTG_DIR=" + str(config.parent)],
            "cmake's find_package version checks")
    print("ok 1 - the README's CMakeLists.txt built %s with find_package "
          "(%s turned down): %s" % (" and ".join(names), ", ".join(other),
                                    out.strip()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["install", "prefix", "subproject",
                                     "cmake"])
    ap.add_argument("--build", help="the build folder to install")
    ap.add_argument("--source", required=True)
    ap.add_argument("--meson", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--sanitize", default="none")
    ap.add_argument("--cc", nargs=argparse.REMAINDER, required=True)
    opts = ap.parse_args()
    {"install": install, "prefix": prefix, "subproject": subproject,
     "cmake": cmake}[opts.mode](opts)


if __name__ == "__main__":
    main()
