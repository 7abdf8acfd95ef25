#!/usr/bin/python3
"""compare_torch.py — W1 of BENCHMARKS.md in PyTorch and in tapegrad, in
one run, and the ratio.

    /usr/bin/python3 bench/compare_torch.py [PATH/TO/bench] [--time SECONDS]
                                            [--rounds N]

PyTorch runs single-threaded (torch.set_num_threads(1)); one iteration is
    x = torch.linspace(-2, 2, 1000, requires_grad=True)
    torch.relu(x).sum().backward()
    g = x.grad
timed with the method of bench/bench.c: a warm-up, batches of at least
about a millisecond, the median, minimum and maximum over the samples.
The tapegrad side is the bench program (by default build/bench/bench of
the source tree), run with --json in the same invocation. Without torch
the script says so and exits 0: the project never needs it.

The machine is shared, so the two sides run in alternating rounds (3 by
default) and each reports its least disturbed round: the lowest round
median, with the lowest minimum and the highest maximum over all rounds.
Ratios are given for the medians and for the minimums.
"""
import json
import os
import statistics
import subprocess
import sys
import time

TARGET_RATIO = 40.0  # tapegrad should be at least this much faster on W1


def find_bench(argv):
    """The bench binary: the first argument not an option, else build/."""
    for a in argv:
        if not a.startswith("-"):
            return a
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(top, "build", "bench", "bench")


def time_per_iter(step, budget):
    """Median, min, max seconds per call of step(), and the sample count."""
    deadline = time.perf_counter() + budget / 10
    while time.perf_counter() < deadline:   # warm-up
        step()
    batch = 1
    while True:                             # batches of >= 1 ms
        t0 = time.perf_counter()
        for _ in range(batch):
            step()
        if time.perf_counter() - t0 >= 1e-3:
            break
        batch *= 2
    samples = []
    start = time.perf_counter()
    while len(samples) < 5 or time.perf_counter() - start < budget:
        t0 = time.perf_counter()
        for _ in range(batch):
            step()
        samples.append((time.perf_counter() - t0) / batch)
    return statistics.median(samples), min(samples), max(samples), len(samples)


def torch_w1(torch, budget):
    """W1 in PyTorch, in microseconds per iteration."""
    torch.set_num_threads(1)
    sink = []

    def step():
        x = torch.linspace(-2, 2, 1000, requires_grad=True)
        torch.relu(x).sum().backward()
        sink.append(x.grad)
        sink.pop()

    # The same answer as tapegrad's: 1 where x > 0, else 0.
    x = torch.linspace(-2, 2, 1000, requires_grad=True)
    torch.relu(x).sum().backward()
    assert torch.equal(x.grad, (x > 0).float()), "torch W1 gradient is wrong"
    med, lo, hi, n = time_per_iter(step, budget)
    return {"median": med * 1e6, "min": lo * 1e6, "max": hi * 1e6,
            "samples": n}


def tapegrad_w1(bench, budget):
    """The bench program's W1 results, by name."""
    out = subprocess.run([bench, "--json", "--time", str(budget), "W1"],
                         check=True, capture_output=True, text=True).stdout
    return {r["name"]: r for r in json.loads(out)}


def take_option(argv, name, default, kind):
    """Remove `name VALUE` from argv and return VALUE (or default)."""
    if name not in argv:
        return default
    i = argv.index(name)
    value = kind(argv[i + 1])
    del argv[i:i + 2]
    return value


def merge(rounds):
    """One result from several rounds of the same measurement."""
    return {"median": min(r["median"] for r in rounds),
            "min": min(r["min"] for r in rounds),
            "max": max(r["max"] for r in rounds)}


def main(argv):
    budget = take_option(argv, "--time", 1.0, float)
    n_rounds = take_option(argv, "--rounds", 3, int)
    bench = find_bench(argv)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed for", sys.executable,
              "- no comparison made.")
        return 0
    if not os.access(bench, os.X_OK):
        print(f"no bench program at {bench}: build it first "
              "(meson setup build && meson compile -C build)", file=sys.stderr)
        return 2
    tg_rounds, pt_rounds = [], []
    for _ in range(n_rounds):
        tg_rounds.append(tapegrad_w1(bench, budget))
        pt_rounds.append(torch_w1(torch, budget))
    tg = {name: merge([r[name] for r in tg_rounds]) for name in tg_rounds[0]}
    pt = merge(pt_rounds)
    print(f"W1: relu(linspace(-2,2,1000)).sum().backward(), f32, 1 thread; "
          f"torch {torch.__version__}")
    print(f"{'':28} {'median':>10} {'min':>10} {'max':>10}  us/iter")
    rows = [("pytorch", pt)] + [(f"tapegrad {k}", v) for k, v in tg.items()]
    for name, r in rows:
        print(f"{name:28} {r['median']:10.3f} {r['min']:10.3f} "
              f"{r['max']:10.3f}")
    for name, r in tg.items():
        ratio = pt["median"] / r["median"]
        best = pt["min"] / r["min"]
        verdict = "meets" if ratio >= TARGET_RATIO else "misses"
        print(f"tapegrad {name} is {ratio:.1f}x faster than pytorch "
              f"(medians; {best:.1f}x by minimums): {verdict} the "
              f"{TARGET_RATIO:.0f}x target")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
