"""Where text moderation spends its time: CPU time per stage inside the engine's own loop.

    python benchmarks/bench_text_stages.py [--mb 10] [--mix typical|toxic] [--repeat 3]

Same corpus and policy as bench_text.py. Each stage is timed with process time (CPU, not wall
clock) and the best of ``--repeat`` runs is kept, which is steadier than wall-clock on a shared
machine. Views are built before the detectors so their cost is shown on its own.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from bench_text import ROOT, build_corpus
from winnow.engine import Engine
from winnow.media.language import identify
from winnow.media.text import TextLimits, TextSource
from winnow.policy.evaluate import evaluate
from winnow.types import Content, Finding


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=10.0)
    parser.add_argument("--mix", choices=["toxic", "typical"], default="typical")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    text = build_corpus(args.data, args.mb, args.mix)
    mb = len(text.encode("utf-8")) / (1 << 20)
    engine = Engine()
    engine.warm_up()
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        spent: dict[str, float] = {}

        def add(stage: str, t0: float, spent: dict[str, float] = spent) -> None:
            spent[stage] = spent.get(stage, 0.0) + time.process_time() - t0

        t0 = time.process_time()
        chunks = list(TextSource(Content.from_text(text), TextLimits()).chunks())
        add("reading and chunking", t0)
        findings: list[Finding] = []
        for chunk in chunks:
            t0 = time.process_time()
            _ = chunk.match
            add("match view", t0)
            t0 = time.process_time()
            _ = chunk.plain
            add("plain view", t0)
            for detector in engine.detectors:
                t0 = time.process_time()
                findings.extend(detector.detect_text(chunk))  # type: ignore[attr-defined]
                add(detector.name, t0)
        t0 = time.process_time()
        identify(text[:4000])
        evaluate(engine.policy.model, findings[:1000])
        add("language and policy", t0)
        for stage, seconds in spent.items():
            best[stage] = min(best.get(stage, float("inf")), seconds)
    total = sum(best.values())
    print(f"CPU time per stage, {mb:.1f} MB ({args.mix}), best of {args.repeat}")
    print(f"| {'stage':<24} | {'ms per MB':>9} |")
    print(f"|{'-' * 26}|{'-' * 11}|")
    for stage, seconds in best.items():
        print(f"| {stage:<24} | {seconds * 1000 / mb:9.1f} |")
    print(f"| {'total':<24} | {total * 1000 / mb:9.1f} | = {mb / total:.1f} MB/s")


if __name__ == "__main__":
    main()
