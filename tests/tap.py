"""tap.py: the example checks' results printed as TAP, which meson reads.

Each check_*_example.py collects (ok, what) pairs: ok is True or False,
or None for a case skipped (what then says why: a missing package).
"""


def report(results):
    """Print results as TAP; return the exit status (1 if any failed)."""
    print("1..%d" % len(results))
    for i, (ok, what) in enumerate(results, 1):
        what = " ".join(str(what).split())  # one line, as TAP wants
        if ok is None:
            print("ok %d - # SKIP %s" % (i, what))
        else:
            print("%s %d - %s" % ("ok" if ok else "not ok", i, what))
    return 0 if all(ok is not False for ok, _ in results) else 1
