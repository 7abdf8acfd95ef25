"""tap.py: the example checks' results printed as TAP, which meson reads.

Each check_*_example.py either collects (ok, what) pairs for report()
(ok is True or False, or None for a case skipped: what then says why, a
missing package), or, where each check needs what the one before it made,
hands run_in_order() a list of checks.
"""
import sys


def one_line(what):
    """what as one line of text, as a TAP line wants it."""
    return " ".join(str(what).split())


def report(results):
    """Print results as TAP; return the exit status (1 if any failed)."""
    print("1..%d" % len(results))
    for i, (ok, what) in enumerate(results, 1):
        what = one_line(what)
        if ok is None:
            print("ok %d - # SKIP %s" % (i, what))
        else:
            print("%s %d - %s" % ("ok" if ok else "not ok", i, what))
    return 0 if all(ok is not False for ok, _ in results) else 1


def run_in_order(checks, failures):
    """Run checks (functions of no arguments that return what they checked)
    one after another, printing each as a TAP line. The first that raises
    one of the exception classes failures is "not ok" and ends the run,
    since the checks after it need what it made; exit with 1 then."""
    print("1..%d" % len(checks))
    for n, check in enumerate(checks, 1):
        try:
            print("ok %d - %s" % (n, one_line(check())))
        except failures as e:
            print("not ok %d - %s" % (n, one_line(e)))
            sys.exit(1)
