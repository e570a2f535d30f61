"""``winnow eval FILE`` and the text evaluation's parts: reading labelled files in three formats,
scoring (macro-F1 as OffensEval computes it), the development split, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from winnow.cli.main import cli
from winnow.evaluation import text as ev

ROWS = [
    ("you are a fucking idiot", 1),
    ("have a lovely day", 0),
    ("i will kill you tomorrow", 1),
    ("the weather is nice", 0),
    ("what a wonderful idea", 1),  # a false negative on purpose
]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl"])
def test_a_labelled_file_is_scored_in_json(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"mine.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in ROWS))
    else:
        sep = "\t" if fmt == "tsv" else ","
        path.write_text(f"text{sep}label\n" + "".join(f"{t}{sep}{y}\n" for t, y in ROWS))
    code, out, _ = run("eval", str(path), "--positive", "harassment,violence/threat", "--json")
    assert code == 0
    # 2 true positives, 1 false negative, 2 true negatives, no false positive
    assert json.loads(out) == {
        "n": 5,
        "accuracy": 0.8,
        "precision": 1.0,
        "recall": 0.6667,
        "f1": 0.8,
        "macro_f1": 0.8,
    }


def test_columns_labels_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "olid.tsv"
    path.write_text(
        "id\ttweet\tsubtask_a\n1\t@USER you are a fucking idiot\tOFF\n2\thello there\tNOT\n"
        "3\tsomething\tmaybe\n4\t\tOFF\n"
    )
    code, out, err = run(
        "eval", str(path), "--text-column", "tweet", "--label-column", "subtask_a", "--json"
    )
    assert code == 0
    assert json.loads(out)["n"] == 2
    assert "line 4: label 'maybe' is not 1/0, true/false or OFF/NOT" in err
    assert "line 5: the text is empty" in err
    code, _, err = run("eval", str(path))
    assert code == 4
    assert "has no column 'text' (its columns: id, tweet, subtask_a)" in err
    code, _, err = run("eval", str(path), "--positive", "harasment")
    assert code == 2
    assert "did you mean 'harassment'" in err
    code, _, err = run("eval", str(tmp_path / "missing.csv"))
    assert code == 4
    assert "missing.csv: No such file or directory" in err


def test_macro_f1_is_the_mean_of_both_classes_f1() -> None:
    s = ev.BinaryScore()
    for gold, pred in [(True, True)] * 3 + [(True, False)] + [(False, True)] + [(False, False)] * 5:
        s.add(gold, pred)
    pos = 2 * 3 / (2 * 3 + 1 + 1)
    neg = 2 * 5 / (2 * 5 + 1 + 1)
    assert s.macro_f1 == pytest.approx((pos + neg) / 2)
    assert (s.precision, s.recall) == (0.75, 0.75)


def test_the_development_split_is_a_stable_fifth() -> None:
    texts = [f"message number {i}" for i in range(5000)]
    dev = [t for t in texts if ev.is_dev(t)]
    assert 900 < len(dev) < 1100
    assert dev == [t for t in texts if ev.is_dev(t)]


@pytest.mark.shared_data
def test_every_shared_set_loads_with_both_classes(shared_data: Path) -> None:
    sets = ev.available(shared_data)
    assert len(sets) == len(ev.SETS)
    for s in sets:
        rows = ev.rows_of(s, shared_data)
        positives = sum(r.positive for r in rows)
        assert 0 < positives < len(rows), s.name


def test_eval_text_scores_the_sets_it_finds_and_pools_them(tmp_path: Path) -> None:
    sms = tmp_path / "text-en-sms-spam-collection"
    sms.mkdir()
    spam = ["WINNER!! claim your free cash prize now, call 09061701461", "URGENT you have won a"
            " guaranteed £1000 prize, text CLAIM to 81010"]  # fmt: skip
    ham = ["are we still on for lunch tomorrow?", "ok i'll pick up the kids at five"]
    lines = [f"spam\t{t}" for t in spam * 10] + [f"ham\t{t}" for t in ham * 10]
    # distinct texts, so that the hash split puts some in the development fifth
    lines = [f"{line} {i}" for i, line in enumerate(lines)]
    (sms / "SMSSpamCollection.tsv").write_text("Label\tSMS\n" + "\n".join(lines) + "\n")
    code, out, _ = run("eval", "text", "--data", str(tmp_path), "--json")
    assert code == 0
    report = json.loads(out)
    [winnow] = [r for r in report["sets"] if r["system"] == "winnow"]
    assert winnow["set"].startswith("SMS Spam Collection")
    assert winnow["n"] == sum(ev.is_dev(line.split("\t", 1)[1]) for line in lines)
    pooled = {(r["language"], r["task"], r["system"]) for r in report["by_language_task"]}
    assert pooled == {("en", "spam", "winnow"), ("en", "spam", "lexicon only")}
    code, _, err = run("eval", "text", "--data", str(tmp_path / "nothing"))
    assert code == 4
    assert "no labelled text set found" in err


def test_scores_pool_by_adding_counts() -> None:
    a, b = ev.BinaryScore(), ev.BinaryScore()
    a.add(True, True)
    a.add(False, True, ["spam/ad"])
    b.add(True, False)
    b.add(False, False)
    a.merge(b)
    assert (a.n, a.tp, a.fp, a.fn, a.tn) == (4, 1, 1, 1, 1)
    assert a.fp_labels == {"spam/ad": 1}


def test_a_hatecheck_suite_is_scored_per_functionality_and_as_a_threat_task(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "text-en-hatecheck"
    folder.mkdir()
    cases = []
    for templ in range(40):  # enough templates for some to land in the development fifth
        for group in ("women", "immigrants"):
            if templ % 2:
                text, func, gold = f"I will kill all {group} {templ}", "threat_dir_h", "hateful"
            else:
                text, func, gold = f"{group} are lovely {templ}", "ident_pos_nh", "non-hateful"
            cases.append({"functionality": func, "test_case": text, "label_gold": gold,
                          "templ_id": str(templ)})  # fmt: skip
    header = ",functionality,test_case,label_gold,templ_id"
    lines = [f"{i},{c['functionality']},{c['test_case']},{c['label_gold']},{c['templ_id']}"
             for i, c in enumerate(cases)]  # fmt: skip
    (folder / "test_suite_cases.csv").write_text(header + "\n" + "\n".join(lines) + "\n")
    code, out, _ = run("eval", "text", "--data", str(tmp_path), "--json")
    assert code == 0
    report = json.loads(out)
    dev = [c for c in cases if ev.is_dev(f"hc{c['templ_id']}")]
    assert len({c["functionality"] for c in dev}) == 2
    functional = report["functional_accuracy"]["HateCheck, dev templates"]
    assert set(functional["winnow"]) == {"all", "threat_dir_h", "ident_pos_nh"}
    tasks = {(r["set"], r["task"]) for r in report["sets"]}
    assert ("HateCheck threats, dev templates", "threat") in tasks
    [threats] = [r for r in report["sets"]
                 if r["set"] == "HateCheck threats, dev templates" and r["system"] == "winnow"]  # fmt: skip
    assert threats["n"] == len(dev)
