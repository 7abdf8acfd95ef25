"""torch_models.py — the PyTorch side of W6 and W7 (shared BENCHMARKS.md):
the models, their data and their training recipes, as examples/fashion_cnn.c
and examples/names.c run them in tapegrad. compare_torch.py times them and
compares the results (accuracies, losses) with the examples' own.

    /usr/bin/python3 bench/torch_models.py w6 [--epochs N] [--adam]
        [--dropout P] [--threads T] [--seed S]
    /usr/bin/python3 bench/torch_models.py w7 [--steps N] [--threads T]

print, per epoch or per evaluation, the same line the C examples print, and
a last line of JSON with the results.

W6: LeNet-5 on Fashion-MNIST, PyTorch's default initialisation, softmax
cross-entropy, batch 64 shuffled with a fixed seed, f32. The base recipe is
SGD lr 0.05 momentum 0.9; the variant (--adam --dropout P) Adam lr 1e-3
with dropout P before each hidden linear layer (issue 13). --seed S (default
6, as examples/fashion_cnn's) seeds both the weights (torch.manual_seed) and
the shuffles; the two programs' generators differ, so one seed is one draw
from each side's distribution, not the same run.

W7: a character-level pre-norm GPT on the words of Debian's wamerican list
that match ^[a-z]+$, joined with '.' (vocabulary '.', 'a'..'z'). A training
example is 16 consecutive characters of that text and the 16 that follow
each, from a random start; batch 32; AdamW lr 3e-3 weight decay 0.01;
PyTorch's default initialisation. "The loss after N steps" is measured on
a fixed evaluation set so that it is not one noisy batch: the 1024 windows
starting at floor(k * (len - 17) / 1024), k = 0..1023, of the same text
(examples/names.c uses the same set).
"""
import gzip
import json
import math
import os
import re
import sys
import time

FASHION_DIR = "/usr/share/datasets/fashion-mnist"
WORDS = "/usr/share/dict/american-english"

W7_CONTEXT, W7_EMBED, W7_HEADS, W7_BLOCKS, W7_BATCH = 16, 64, 4, 2, 32
W7_EVAL = 1024


# ---- W6

def read_idx(torch, path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big")
            for i in range(ndim)]
    t = torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8)
    return t.reshape(dims)


def fashion(torch, limit=None):
    """Train and test images (N,1,28,28) in [0,1] and labels."""
    d = FASHION_DIR

    def images(name):
        x = read_idx(torch, f"{d}/{name}").float() / 255
        return x.reshape(-1, 1, 28, 28)

    def labels(name):
        return read_idx(torch, f"{d}/{name}").long()

    xtr, ytr = images("train-images-idx3-ubyte.gz"), labels(
        "train-labels-idx1-ubyte.gz")
    xte, yte = images("t10k-images-idx3-ubyte.gz"), labels(
        "t10k-labels-idx1-ubyte.gz")
    if limit:
        xtr, ytr, xte, yte = xtr[:limit], ytr[:limit], xte[:limit], yte[:limit]
    return xtr, ytr, xte, yte


def lenet(torch, dropout=0.0):
    """W6's LeNet-5; dropout before each hidden linear layer if > 0."""
    nn = torch.nn
    drop = (lambda: [nn.Dropout(dropout)]) if dropout > 0 else (lambda: [])
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        *drop(), nn.Linear(400, 120), nn.ReLU(),
        *drop(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def w6_setup(torch, adam=False, dropout=0.0, seed=6):
    torch.manual_seed(seed)
    model = lenet(torch, dropout)
    if adam:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return model, opt


def w6_epoch(torch, model, opt, xtr, ytr, gen, batch=64):
    F = torch.nn.functional
    model.train()
    order = torch.randperm(xtr.shape[0], generator=gen)
    for i in range(0, xtr.shape[0], batch):
        idx = order[i:i + batch]
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(xtr[idx]), ytr[idx]).backward()
        opt.step()


def w6_accuracy(torch, model, xte, yte):
    model.eval()
    with torch.no_grad():
        correct = 0
        for i in range(0, xte.shape[0], 1000):
            correct += (model(xte[i:i + 1000]).argmax(1) ==
                        yte[i:i + 1000]).sum().item()
    return 100.0 * correct / xte.shape[0]


def w6_run(torch, epochs, adam=False, dropout=0.0, limit=None, seed=6):
    xtr, ytr, xte, yte = fashion(torch, limit)
    model, opt = w6_setup(torch, adam, dropout, seed)
    gen = torch.Generator().manual_seed(seed)
    out = {"epochs": [], "seconds": []}
    for e in range(epochs):
        t0 = time.perf_counter()
        w6_epoch(torch, model, opt, xtr, ytr, gen)
        dt = time.perf_counter() - t0
        acc = w6_accuracy(torch, model, xte, yte)
        out["epochs"].append(acc)
        out["seconds"].append(dt)
        print(f"epoch {e + 1}/{epochs}: {dt:.2f} s, test accuracy "
              f"{acc:.2f}%", flush=True)
    return out


# ---- W7

def w7_text(path=WORDS):
    """The words matching ^[a-z]+$, each followed by '.', as token ids
    ('.' = 0, 'a'..'z' = 1..26), with '.' also first."""
    with open(path, encoding="utf-8", errors="replace") as f:
        words = [w for w in f.read().split("\n") if re.fullmatch("[a-z]+", w)]
    text = "." + ".".join(words) + "."
    return [0 if c == "." else ord(c) - ord("a") + 1 for c in text], len(words)


def gpt(torch):
    """W7's pre-norm GPT, PyTorch's default initialisation."""
    nn, F = torch.nn, torch.nn.functional
    C, H, T = W7_EMBED, W7_HEADS, W7_CONTEXT

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.k = nn.Linear(C, C), nn.Linear(C, C)
            self.v, self.proj = nn.Linear(C, C), nn.Linear(C, C)
            mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
            self.register_buffer("mask", mask, persistent=False)

        def forward(self, x):
            B, L, _ = x.shape
            def heads(t):
                return t.view(B, L, H, C // H).transpose(1, 2)
            q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
            s = q @ k.transpose(-2, -1) / math.sqrt(C // H)
            s = s.masked_fill(~self.mask[:L, :L], float("-inf"))
            y = F.softmax(s, dim=-1) @ v
            return self.proj(y.transpose(1, 2).reshape(B, L, C))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.attn = nn.LayerNorm(C), Attention()
            self.ln2 = nn.LayerNorm(C)
            self.mlp = nn.Sequential(nn.Linear(C, 4 * C), nn.GELU(),
                                     nn.Linear(4 * C, C))

        def forward(self, x):
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(27, C)
            self.pos = nn.Embedding(T, C)
            self.blocks = nn.Sequential(*[Block() for _ in range(W7_BLOCKS)])
            self.ln = nn.LayerNorm(C)
            self.head = nn.Linear(C, 27)

        def forward(self, idx):
            L = idx.shape[1]
            x = self.tok(idx) + self.pos(torch.arange(L))
            return self.head(self.ln(self.blocks(x)))

    return GPT()


def w7_eval_starts(n_tokens):
    return [k * (n_tokens - W7_CONTEXT - 1) // W7_EVAL for k in range(W7_EVAL)]


class W7:
    """Model, optimizer, data and one training step of W7."""

    def __init__(self, torch, seed=7):
        self.torch = torch
        ids, self.n_words = w7_text()
        self.data = torch.tensor(ids, dtype=torch.long)
        torch.manual_seed(seed)
        self.model = gpt(torch)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=3e-3,
                                     weight_decay=0.01)
        self.gen = torch.Generator().manual_seed(seed)
        starts = torch.tensor(w7_eval_starts(len(ids)))
        self.eval_x, self.eval_y = self.windows(starts)

    def windows(self, starts):
        offs = self.torch.arange(W7_CONTEXT)
        x = self.data[starts[:, None] + offs]
        y = self.data[starts[:, None] + offs + 1]
        return x, y

    def step(self):
        torch, F = self.torch, self.torch.nn.functional
        starts = torch.randint(0, len(self.data) - W7_CONTEXT - 1,
                               (W7_BATCH,), generator=self.gen)
        x, y = self.windows(starts)
        self.opt.zero_grad(set_to_none=True)
        logits = self.model(x)
        loss = F.cross_entropy(logits.reshape(-1, 27), y.reshape(-1))
        loss.backward()
        self.opt.step()
        return loss.item()

    def eval_loss(self):
        torch, F = self.torch, self.torch.nn.functional
        with torch.no_grad():
            logits = self.model(self.eval_x)
            return F.cross_entropy(logits.reshape(-1, 27),
                                   self.eval_y.reshape(-1)).item()


def w7_run(torch, steps, report_at=(1000, 5000)):
    w = W7(torch)
    out = {"words": w.n_words, "tokens": len(w.data), "losses": {}}
    t0 = time.perf_counter()
    for s in range(1, steps + 1):
        w.step()
        if s in report_at or s == steps:
            loss = w.eval_loss()
            out["losses"][str(s)] = loss
            print(f"step {s}/{steps}: evaluation loss {loss:.4f}", flush=True)
    out["us_per_step"] = 1e6 * (time.perf_counter() - t0) / steps
    return out


# ---- the command line

def option(argv, name, default, kind):
    if name not in argv:
        return default
    i = argv.index(name)
    v = kind(argv[i + 1])
    del argv[i:i + 2]
    return v


def unknown(argv, flags):
    """Say so and return True if argv holds an option main does not take
    (a typo would otherwise train with the defaults)."""
    bad = [a for a in argv[1:] if a.startswith("-") and a not in flags]
    if bad:
        print(f"torch_models.py: unknown option {bad[0]} (--help lists them)",
              file=sys.stderr)
    return bool(bad)


def main(argv):
    if "-h" in argv or "--help" in argv:
        print(__doc__)
        return 0
    import torch
    torch.set_num_threads(option(argv, "--threads", 1, int))
    what = argv[0] if argv else ""
    if what == "w6":
        epochs = option(argv, "--epochs", 3, int)
        dropout = option(argv, "--dropout", 0.0, float)
        limit = option(argv, "--limit", None, int)
        seed = option(argv, "--seed", 6, int)
        if unknown(argv, {"--adam"}):
            return 2
        out = w6_run(torch, epochs, "--adam" in argv, dropout, limit, seed)
    elif what == "w7":
        steps = option(argv, "--steps", 5000, int)
        if unknown(argv, set()):
            return 2
        out = w7_run(torch, steps)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.exit(main(sys.argv[1:]))
