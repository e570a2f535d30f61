"""Train Winnow's text classifiers from the labelled sets in ../shared/data, deterministically.

Run: ``make train-text`` (or ``python scripts/train_text_classifier.py [--data DIR]``). Writes
``src/winnow/data/models/text-classifier.npz`` and prints each head's development scores.

Recipe (recorded in the model's metadata and in docs/models.md):

- Text: the match view (evasion undone), hashed n-grams (``winnow.detectors.text.classifier``).
- Rows: the training side of each trainable set (:func:`winnow.evaluation.text.is_dev` false;
  HateCheck split by template), all of COLD's train file; development rows are never trained
  on. ToxiCN (no-derivatives) is never used.
- One logistic regression per label (liblinear, L2, classes balanced), then Platt calibration
  (a one-feature logistic regression on the margin) fitted on the development rows.
- Weights stored as float16.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from winnow.detectors.text.classifier import BUCKETS, FORMAT, MODEL_FILE, Grams, vectorize  # noqa: E402
from winnow.evaluation import text as ev  # noqa: E402
from winnow.media.normalize import match_view  # noqa: E402

VERSION = "1.1"
OUT = ROOT / "src" / "winnow" / "data" / "models" / MODEL_FILE


SUPPLEMENT = ROOT / "scripts" / "data" / "threat-examples.tsv"


def _rows(data: Path, key: str) -> list[ev.Row]:
    """The rows of one labelled set under one reading of its labels."""
    if key in ("threat-examples", "threat-idioms"):  # Winnow's own: threats at one person,
        # and harmless idioms that use violent words
        lines = SUPPLEMENT.read_text(encoding="utf-8").splitlines()
        pairs = [ln.split("\t", 1) for ln in lines if ln.strip() and not ln.startswith("#")]
        want = "threat" if key == "threat-examples" else "benign"
        return [ev.Row(text, label == "threat") for label, text in pairs if label == want]
    if key == "davidson-profane":  # Davidson's offensive (not hateful) tweets against neither
        rows = ev.davidson_classes(data / "text-en-davidson-hate-offensive")
        return [ev.Row(text, cls == "1") for text, cls in rows if cls in ("1", "2")]
    if key == "cold-train":
        with (data / "text-zh-cold-train-dev" / "train.csv").open(encoding="utf-8-sig") as f:
            return [ev.Row(r["TEXT"], r["label"] == "1") for r in csv.DictReader(f)]
    if key == "olid-negatives":  # OLID's NOT tweets: ordinary English chatter, for other heads
        return [ev.Row(r.text, False) for r in _rows(data, "olid") if not r.positive]
    if key == "olid-individual":  # insults aimed at one person (subtask_c IND): not identity
        path = data / "text-en-olid-offenseval2019-train" / "olid-training-v1.0.tsv"
        with path.open(encoding="utf-8") as f:
            rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            return [ev.Row(r["tweet"], False) for r in rows if r["subtask_c"] == "IND"]
    if key == "cold-negatives":
        return [ev.Row(r.text, False) for r in _rows(data, "cold-train") if not r.positive]
    if key == "spam-negatives":
        return [ev.Row(r.text, False) for r in _rows(data, "sms") + _rows(data, "youtube")]
    by_name = {s.name: s for s in ev.SETS}
    sets = {
        "olid": "OLID (OffensEval 2019) train, dev split",
        "olid-untargeted": "OLID untargeted profanity, dev split",
        "hatecheck-threat": "HateCheck threats, dev templates",
        "hatecheck-profanity": "HateCheck profanity, dev templates",
        "mhc-zh": "Multilingual HateCheck Mandarin, dev templates",
        "mhc-zh-threat": "Multilingual HateCheck Mandarin threats, dev templates",
        "mhc-zh-profanity": "Multilingual HateCheck Mandarin profanity, dev templates",
        "davidson-offensive": "Davidson, dev split",
        "davidson-hate": "Davidson hate, dev split",
        "stormfront": "Stormfront, dev split",
        "toxigen": "ToxiGen seed statements, dev split",
        "hatecheck": "HateCheck, dev templates",
        "swsr": "SWSR sexism, dev split",
        "sms": "SMS Spam Collection, dev split",
        "youtube": "YouTube comment spam, dev split",
    }
    chosen = by_name[sets[key]]
    return chosen.load(data / chosen.folder)


# label -> the sets it learns from (positives and negatives as each set labels them)
HEADS: dict[str, list[tuple[str, float]]] = {
    "harassment/insult": [
        ("olid", 1.0),
        ("davidson-offensive", 0.5),
        ("cold-train", 1.0),
        ("spam-negatives", 0.3),
    ],
    "harassment/profanity": [
        ("olid-untargeted", 1.0),
        ("davidson-profane", 0.5),
        ("hatecheck-profanity", 2.0),
        ("mhc-zh-profanity", 10.0),
        ("cold-negatives", 0.3),
        ("spam-negatives", 0.3),
    ],
    "hate/identity_attack": [
        ("stormfront", 1.0),
        ("toxigen", 2.0),
        ("hatecheck", 3.0),
        ("mhc-zh", 3.0),
        ("olid-individual", 1.0),
        ("davidson-hate", 0.5),
        ("swsr", 1.0),
        ("olid-negatives", 0.3),
        ("cold-negatives", 0.3),
    ],
    "violence/threat": [
        ("hatecheck-threat", 3.0),
        ("mhc-zh-threat", 3.0),
        ("threat-examples", 2.0),
        ("threat-idioms", 20.0),
        ("olid-negatives", 10.0),
        ("cold-negatives", 10.0),
        ("spam-negatives", 10.0),
    ],
    "spam/ad": [
        ("sms", 1.0),
        ("youtube", 1.0),
        ("olid-negatives", 0.3),
        ("cold-negatives", 0.3),
    ],
}
# regularisation per head (liblinear's C; smaller is smoother): the threat head learns from few
# distinct sentences (HateCheck's threat templates and Winnow's own examples) and memorises them
# at the default, so it is held to broad cues
C: dict[str, float] = {"violence/threat": 1.0}
DEFAULT_C = 2.0
# heads whose features are scaled by their naive-Bayes log-count ratios (NBSVM), chosen on the
# development rows: it helps spam (YouTube 0.914 -> 0.950 macro-F1) and hurts insults and
# identity attacks (OLID 0.709 -> 0.689, HateCheck 0.757 -> 0.727); for threats it helps the
# HateCheck templates (Mandarin 0.671 -> 0.735) but makes "kill" alone weigh so much that
# harmless idioms ("can you kill the lights") reach 0.58, so the threat head goes without
NB_SCALED = frozenset({"spam/ad"})
# heads calibrated as if positives and negatives were equally common in the development rows:
# the threat rows' mix (one threat to twelve other HateCheck cases) is an artefact of the suite,
# and a score calibrated to it would almost never reach 0.5 (see docs/models.md)
EVEN_ODDS = frozenset({"violence/threat"})
# the sets each head's development rows come from (for calibration and the printed scores)
DEV: dict[str, list[str]] = {
    "harassment/insult": ["olid", "davidson-offensive", "cold-dev"],
    "harassment/profanity": [
        "olid-untargeted",
        "davidson-profane",
        "hatecheck-profanity",
        "mhc-zh-profanity",
    ],
    "hate/identity_attack": [
        "stormfront",
        "toxigen",
        "hatecheck",
        "mhc-zh",
        "davidson-hate",
        "swsr",
    ],
    "violence/threat": ["hatecheck-threat", "mhc-zh-threat"],
    "spam/ad": ["sms", "youtube"],
}


def _matrix(texts: list[str]) -> sp.csr_matrix:
    indptr = [0]
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    for t in texts:
        c, v = vectorize(Grams(match_view(t).text).ids)
        cols.append(c.astype(np.int32))
        vals.append(v)
        indptr.append(indptr[-1] + len(c))
    return sp.csr_matrix(
        (np.concatenate(vals), np.concatenate(cols), np.asarray(indptr)),
        shape=(len(texts), BUCKETS),
        dtype=np.float32,
    )


def _split(data: Path, key: str) -> tuple[list[ev.Row], list[ev.Row]]:
    """(train, dev) rows of a source: COLD has its own dev file; the rest split by hash."""
    if key == "cold-dev":
        cold = next(s for s in ev.SETS if s.folder == "text-zh-cold-train-dev")
        return [], cold.load(data / cold.folder)
    rows = _rows(data, key)
    if key in ("cold-train", "cold-negatives", "threat-examples", "threat-idioms"):
        return rows, []
    return [r for r in rows if not r.dev], [r for r in rows if r.dev]


def _nb_scale(x: sp.csr_matrix, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Each feature's naive-Bayes log-count ratio |log(p / q)| (p, q: the weighted share of
    positive and negative texts it occurs in, add-one smoothed), as a per-feature scale for the
    logistic regression (Wang & Manning's NBSVM): evidence that tells the classes apart counts
    for more than a word every text uses."""
    present = x.copy()
    present.data[:] = 1.0
    p = np.asarray(present.T @ (w * (y == 1))).ravel() + 1.0
    q = np.asarray(present.T @ (w * (y == 0))).ravel() + 1.0
    return np.abs(np.log((p / p.sum()) / (q / q.sum())))


def _by_set(sources: list[str], gold: list[int], pred: np.ndarray) -> dict[str, float]:
    """Macro-F1 at 0.5 on each source's own development rows."""
    src = np.asarray(sources)
    y = np.asarray(gold)
    return {
        key: round(float(f1_score(y[src == key], pred[src == key], average="macro")), 4)
        for key in dict.fromkeys(sources)
    }


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    """An ``.npz`` (a zip of ``.npy`` files) whose bytes depend on the arrays alone: numpy's own
    writer stamps each entry with the current time, so two identical trainings would differ."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            out = io.BytesIO()
            np.lib.format.write_array(out, np.ascontiguousarray(array), allow_pickle=False)
            z.writestr(info, out.getvalue())
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    t0 = time.perf_counter()
    labels = list(HEADS)
    weights = np.zeros((len(labels), BUCKETS), np.float16)
    bias = np.zeros(len(labels), np.float64)
    platt_a = np.zeros(len(labels), np.float64)
    platt_b = np.zeros(len(labels), np.float64)
    report: dict[str, dict[str, object]] = {}
    digest = hashlib.sha256()
    for i, label in enumerate(labels):
        texts: list[str] = []
        y: list[int] = []
        w: list[float] = []
        for key, weight in HEADS[label]:
            train, _ = _split(args.data, key)
            for r in train:
                texts.append(r.text)
                y.append(int(r.positive))
                w.append(weight)
                digest.update(r.text.encode("utf-8", "surrogatepass"))
        dev_texts: list[str] = []
        dev_y: list[int] = []
        dev_source: list[str] = []
        for key in DEV[label]:
            _, dev = _split(args.data, key)
            dev_texts += [r.text for r in dev]
            dev_y += [int(r.positive) for r in dev]
            dev_source += [key] * len(dev)
        x = _matrix(texts)
        yy = np.asarray(y)
        ww = np.asarray(w)
        # balance the classes: each carries half the total weight the sources were given
        total = ww.sum()
        for cls in (0, 1):
            ww[yy == cls] *= (total / 2) / ww[yy == cls].sum()
        c = C.get(label, DEFAULT_C)
        scale = _nb_scale(x, yy, ww) if label in NB_SCALED else np.ones(BUCKETS)
        lr = LogisticRegression(C=c, solver="liblinear", max_iter=2000, random_state=0)
        lr.fit(x @ sp.diags(scale), yy, sample_weight=ww)
        # w . (scale * x) = (scale * w) . x: the scaling folds into the weights, free at run time
        weights[i] = (lr.coef_[0] * scale).astype(np.float16)
        bias[i] = float(lr.intercept_[0])
        xd = _matrix(dev_texts)
        margin = xd @ weights[i].astype(np.float32) + bias[i]
        cal = LogisticRegression(
            C=1e4, solver="lbfgs", max_iter=1000,
            class_weight="balanced" if label in EVEN_ODDS else None,
        )  # fmt: skip
        cal.fit(np.asarray(margin).reshape(-1, 1), np.asarray(dev_y))
        platt_a[i] = float(cal.coef_[0][0])
        platt_b[i] = float(cal.intercept_[0])
        prob = 1 / (1 + np.exp(-(platt_a[i] * margin + platt_b[i])))
        pred = prob >= 0.5
        report[label] = {
            "train_rows": len(texts),
            "dev_rows": len(dev_texts),
            "dev_macro_f1": round(float(f1_score(dev_y, pred, average="macro")), 4),
            "dev_f1": round(float(f1_score(dev_y, pred)), 4),
            "dev_macro_f1_by_set": _by_set(dev_source, dev_y, pred),
        }
        print(f"{label}: {report[label]}", flush=True)
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "buckets": BUCKETS,
        "labels": labels,
        "recipe": {
            "features": "match view; words, word pairs, 3-5 char pieces of <word>, 1-3 CJK runs",
            "weighting": "1 + log(count), L2-normalised",
            "model": "logistic regression, liblinear, classes balanced within source weights",
            "C": {lab: C.get(lab, DEFAULT_C) for lab in labels},
            "calibration": "Platt, on the development rows",
            "calibrated_at_even_odds": sorted(EVEN_ODDS),
            "naive_bayes_scaled": sorted(NB_SCALED),
            "sources": {lab: HEADS[lab] for lab in labels},
            "development": DEV,
        },
        "training_text_sha256": digest.hexdigest(),
        "development_scores": report,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), np.uint8),
        "weights": weights,
        "bias": bias,
        "platt_a": platt_a,
        "platt_b": platt_b,
    }
    args.out.write_bytes(_npz(arrays))
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 2**20:.1f} MiB) in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
