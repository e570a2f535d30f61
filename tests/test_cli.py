from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from winnow.cli.main import cli

REPO = Path(__file__).resolve().parent.parent


def run(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_scan_examples_prints_one_json_verdict_per_item() -> None:
    code, out, _ = run("scan", str(REPO / "examples"))
    lines = [json.loads(line) for line in out.splitlines()]
    by_item = {Path(v["item"]).name: v["action"] for v in lines}
    assert by_item["01-clean.txt"] == "pass"
    assert by_item["03-threat.txt"] == "review"
    assert by_item["05-personal-data.txt"] == "review"
    assert code == 1  # something needs review, nothing is blocked


@pytest.mark.parametrize(
    ("text", "code"),
    [(b"have a nice day", 0), (b"i will kill you", 1), (b"you nigger", 3)],
    ids=["pass", "review", "block"],
)
def test_exit_code_says_what_was_flagged(text: bytes, code: int) -> None:
    assert run("scan", "-", stdin=text)[0] == code


@pytest.mark.parametrize(
    ("stdin", "code_name"),
    [
        (b"", "invalid_content"),
        (b"\x7fELF\x02\x01", "unsupported_media"),
        (b"abc\xff\xfedef", "decode_error"),
    ],
    ids=["empty", "binary", "invalid utf-8"],
)
def test_bad_input_is_an_error_line_and_exit_4(stdin: bytes, code_name: str) -> None:
    code, out, err = run("scan", "-", stdin=stdin)
    assert code == 4
    assert json.loads(out)["error"]["code"] == code_name
    assert err.startswith("-: ")


def test_other_items_are_still_scanned_when_one_fails(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("fine text", encoding="utf-8")
    (tmp_path / "b.bin").write_bytes(b"\x00\x01\x02")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("also fine", encoding="utf-8")
    code, out, _ = run("scan", str(tmp_path))
    items = [(Path(v["item"]).name, "error" in v) for v in map(json.loads, out.splitlines())]
    assert items == [("a.txt", False), ("b.bin", True), ("c.txt", False)]
    assert code == 4


def test_table_format() -> None:
    code, out, _ = run("scan", "--format", "table", str(REPO / "examples" / "03-threat.txt"))
    assert "review" in out
    assert "threats" in out
    assert code == 1


def test_policy_check_reports_problems_with_lines(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nrules:\n  - {name: r, when: {label: hate/slurs}, action: block}\n")
    code, _, err = run("policy", "check", str(bad))
    assert code == 5
    assert f"{bad}:3:29: unknown label 'hate/slurs'; did you mean 'hate/slur'?" in err


def test_policy_check_accepts_the_default(tmp_path: Path) -> None:
    code, out, _ = run("policy", "default")
    mine = tmp_path / "mine.yaml"
    mine.write_text(out, encoding="utf-8")
    code, out, _ = run("policy", "check", str(mine))
    assert code == 0
    assert "ok" in out


def test_scan_with_a_custom_policy(tmp_path: Path) -> None:
    policy = tmp_path / "adult.yaml"
    policy.write_text(
        "name: adult\nrules:\n  - {name: slurs, when: {label: hate/slur, min_score: 0.8}, action: block}\n"
        "overrides:\n  harassment/profanity: {disabled: true}\n"
    )
    assert run("scan", "--policy", str(policy), "-", stdin=b"fuck yeah")[0] == 0


def test_redact_masks_personal_data() -> None:
    code, out, _ = run("redact", "-", stdin=b"mail jane@example.org or call +44 7911 123456")
    assert (code, out) == (0, "mail [EMAIL] or call [PHONE]")


def test_detectors_and_labels_list() -> None:
    assert "lexicon" in run("detectors")[1]
    assert "STATEMENT_CATEGORY" not in run("labels")[1]
    assert "hate/slur" in run("labels")[1]
