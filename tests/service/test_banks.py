"""Hash banks in the store, followed by the matcher: kinds, changes within a second, floods,
tenant isolation, import formats and retroactive matching (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest

from winnow.errors import BankError, BankNotFoundError
from winnow.hashing.banks import BankMatcher
from winnow.hashing.formats import detect_format, parse, write
from winnow.hashing.retro import retro_match
from winnow.policy.evaluate import evaluate
from winnow.policy.loader import load_default_policy
from winnow.store import Store
from winnow.store.banks import BankStore, NewEntry
from winnow.types import Action, ContentHash

A = "a" * 64
NEAR_A = "b" + "a" * 63  # 'a' = 1010, 'b' = 1011: one bit away
FAR = "5" * 64  # every bit flipped


def _pdq(value: str, quality: int = 100) -> ContentHash:
    return ContentHash("pdq", value, quality=quality)


@pytest.fixture
def banks(store: Store) -> BankStore:
    return BankStore(store)


def _tenant(store: Store, name: str = "acme") -> str:
    tid = store.tenant_id(name, create=True)
    assert tid is not None
    return tid


def test_kinds_thresholds_and_policy(store: Store, banks: BankStore) -> None:
    t = _tenant(store)
    banks.create_bank(t, "terror", "block", pdq_threshold=20)
    banks.create_bank(t, "known-good", "allow")
    banks.create_bank(t, "meme-fix", "negative", suppresses=["terror"])
    banks.add_entries(t, "terror", [NewEntry("pdq", A, labels=("gifct:t1",), source="gifct")])
    m = BankMatcher(banks, t)
    [hit] = m.match([_pdq(NEAR_A)]).matches
    assert (hit.bank, hit.distance, hit.threshold, hit.kind, hit.labels, hit.source) == (
        "terror",
        1,
        20,
        "block",
        ("gifct:t1",),
        "gifct",
    )
    assert m.match([_pdq(FAR)]).matches == []
    policy = load_default_policy().model
    assert evaluate(policy, [], [hit]).action is Action.BLOCK
    # a negative entry cancels the terror match; the match stays visible
    banks.add_entries(t, "meme-fix", [NewEntry("pdq", NEAR_A)])
    m.refresh(force=True)
    matches = m.match([_pdq(NEAR_A)]).matches
    assert {(x.bank, x.suppressed_by) for x in matches} == {
        ("terror", "meme-fix"),
        ("meme-fix", None),
    }
    assert evaluate(policy, [], matches).action is Action.PASS
    # exact hashes: SHA-256 in an allow bank passes the item whatever else matched
    banks.add_entries(t, "known-good", [NewEntry("sha256", "C" * 64)])
    allow = m.match([ContentHash("sha256", "c" * 64)]).matches
    assert [(x.bank, x.algorithm, x.distance) for x in allow] == [("known-good", "sha256", 0)]
    assert evaluate(policy, [], allow).action is Action.PASS


def test_changes_reach_a_running_matcher_within_a_second(store: Store, banks: BankStore) -> None:
    t = _tenant(store)
    banks.create_bank(t, "csam", "block")
    m = BankMatcher(banks, t, refresh_interval=1.0)
    assert m.match([_pdq(A)]).matches == []
    [entry] = banks.add_entries(t, "csam", [NewEntry("pdq", A)]).ids
    deadline = time.monotonic() + 1.5
    while not m.match([_pdq(A)], record=False).matches:
        assert time.monotonic() < deadline, "an added entry was not matched within a second"
        time.sleep(0.05)
    banks.set_state(t, "csam", [entry], "disabled", "false positive")
    m.refresh(force=True)
    assert m.match([_pdq(A)]).matches == []
    banks.set_state(t, "csam", [entry], "enabled")
    m.refresh(force=True)
    assert len(m.match([_pdq(A)]).matches) == 1
    assert banks.remove_entries(t, "csam", ids=[entry]) == 1
    m.refresh(force=True)
    assert m.match([_pdq(A)]).matches == []
    banks.configure_bank(t, "csam", kind="review", pdq_threshold=10)
    banks.add_entries(t, "csam", [NewEntry("pdq", A)])
    m.refresh(force=True)
    [hit] = m.match([_pdq(NEAR_A)]).matches
    assert (hit.kind, hit.threshold) == ("review", 10)


def test_low_quality_content_is_not_matched_by_pdq(store: Store, banks: BankStore) -> None:
    t = _tenant(store)
    banks.create_bank(t, "b", "block", pdq_min_quality=50)
    banks.add_entries(t, "b", [NewEntry("pdq", A)])
    result = BankMatcher(banks, t).match([_pdq(A, quality=20)])
    assert result.matches == []
    assert "PDQ quality 20 is under bank 'b'" in result.notes[0]


def test_a_flooding_entry_is_quarantined_and_visible(store: Store, banks: BankStore) -> None:
    t = _tenant(store)
    banks.create_bank(t, "third-party", "block", flood_limit=5)
    [entry] = banks.add_entries(t, "third-party", [NewEntry("pdq", A)]).ids
    m = BankMatcher(banks, t)
    notes: list[str] = []
    for _ in range(6):
        r = m.match([_pdq(A)])
        notes += r.notes
    assert any("quarantined" in n for n in notes)
    m.refresh(force=True)
    assert m.match([_pdq(A)]).matches == []
    stats = banks.stats(t, "third-party")
    [q] = stats["quarantined"]
    assert q["id"] == entry
    assert "flood limit of 5" in q["state_reason"]
    assert stats["matches"] == 6
    events = [e["event"] for e in store.audit_entries(t)]
    assert "bank.entry_quarantined" in events
    banks.set_state(t, "third-party", [entry], "enabled")  # reviewed: back in service
    m.refresh(force=True)
    assert len(m.match([_pdq(A)]).matches) == 1


def test_tenants_never_see_each_others_banks(store: Store, banks: BankStore) -> None:
    a, b = _tenant(store, "a"), _tenant(store, "b")
    banks.create_bank(a, "shared-name", "block")
    banks.add_entries(a, "shared-name", [NewEntry("pdq", A), NewEntry("md5", "1" * 32)])
    assert BankMatcher(banks, b).match([_pdq(A), ContentHash("md5", "1" * 32)]).matches == []
    with pytest.raises(BankNotFoundError):
        banks.add_entries(b, "shared-name", [NewEntry("pdq", A)])
    assert banks.list_banks(b) == []
    banks.create_bank(b, "shared-name", "review")  # same name, another tenant: fine
    with pytest.raises(BankError, match="already exists"):
        banks.create_bank(a, "shared-name", "block")


def test_imports_report_bad_rows_by_line_and_load_the_rest(store: Store, banks: BankStore) -> None:
    t = _tenant(store)
    banks.create_bank(t, "gifct", "block")
    text = (
        "hash_type,hash,labels\n"
        f"pdq,{A},terrorism;violent_extremism\n"
        "pdq,not-a-hash,x\n"
        f"md5,{'f' * 32},\n"
        f"sha1,{'0' * 40},x\n"
    )
    assert detect_format("list.csv", text) == "csv"
    parsed = parse(io.StringIO(text), "csv")
    assert [
        (p.line, "hex digits" in p.message or "sha1" in p.message) for p in parsed.problems
    ] == [(3, True), (5, True)]
    result = banks.add_entries(t, "gifct", parsed.entries)
    assert (result.added, result.duplicates) == (2, 0)
    again = banks.add_entries(t, "gifct", parsed.entries)
    assert (again.added, again.duplicates) == (0, 2)
    out = io.StringIO()
    write(banks.entries(t, "gifct"), "jsonl", out, "gifct")
    round_trip = parse(io.StringIO(out.getvalue()), "jsonl")
    assert not round_trip.problems
    assert {(e.algorithm, e.value, e.labels) for e in round_trip.entries} == {
        ("pdq", A, ("terrorism", "violent_extremism")),
        ("md5", "f" * 32, ()),
    }
    tx = f"pdq {A} 'Sample Data' tags\nvideo_md5 {'e' * 32}\nbogus line\n"
    assert detect_format("signals.txt", tx) == "threatexchange"
    parsed = parse(io.StringIO(tx), "threatexchange")
    assert [(e.algorithm, e.value) for e in parsed.entries] == [("pdq", A), ("md5", "e" * 32)]
    assert [p.line for p in parsed.problems] == [3]
    plain = parse(io.StringIO(f"{A}\n{'1' * 32}\nzz\n"), "hex")
    assert [p.line for p in plain.problems] == [1, 3]  # 64 digits need --algorithm
    assert [e.value for e in parse(io.StringIO(f"{A}\n"), "hex", algorithm="pdq").entries] == [A]


def test_retroactive_matching_reports_past_scans(store: Store, banks: BankStore) -> None:
    t = _tenant(store)
    row = {
        "tenant_id": t, "key_id": "k", "status": "done", "mode": "sync", "size_bytes": 10,
        "created_at": time.time(), "attempts": 1, "webhook_attempts": 0, "action": "pass",
    }  # fmt: skip
    store.record_scans(
        [
            {**row, "id": "scn_1", "name": "cat.jpg", "pdq": NEAR_A, "md5": "2" * 32},
            {**row, "id": "scn_2", "name": "dog.jpg", "pdq": FAR, "md5": "3" * 32},
        ],
        [],
    )
    banks.create_bank(t, "new-list", "block")
    ids = banks.add_entries(t, "new-list", [NewEntry("pdq", A), NewEntry("md5", "3" * 32)]).ids
    hits = retro_match(banks, t, ids)
    assert {(h.scan_id, h.algorithm, h.distance) for h in hits} == {
        ("scn_1", "pdq", 1),
        ("scn_2", "md5", 0),
    }
    assert retro_match(banks, _tenant(store, "other"), ids) == []


def test_the_api_matches_each_tenants_own_banks(make_api: Any, shared_data: Any) -> None:
    """An image in tenant A's block bank is blocked for A (rotated, too), not for tenant B; an
    entry added while the service runs counts within a second."""
    from PIL import Image

    api = make_api()
    a, b = api.key("tenant-a"), api.key("tenant-b")
    photo = shared_data / "pdq-reference-vectors/images/reg-test-input/dih/bridge-1-original.jpg"
    original = photo.read_bytes()
    buf = io.BytesIO()
    Image.open(io.BytesIO(original)).rotate(90, expand=True).save(buf, "JPEG", quality=80)
    rotated = buf.getvalue()
    store: Store = api.service.store
    banks = BankStore(store)
    ta = store.tenant_id("tenant-a")
    assert ta is not None
    banks.create_bank(ta, "terror", "block")

    def scan(data: bytes, headers: dict[str, str]) -> dict[str, Any]:
        r = api.client.post("/v1/scans", content=data, headers=headers)
        assert r.status_code == 200, r.text
        verdict: dict[str, Any] = r.json()["verdict"]
        return verdict

    assert scan(rotated, a)["hash_matches"] == []
    from winnow.media.image import ImageLimits, decode_image

    pdq = next(h for h in decode_image(original, ImageLimits()).hashes if h.algorithm == "pdq")
    banks.add_entries(ta, "terror", [NewEntry("pdq", pdq.value, labels=("terrorism",))])
    deadline = time.monotonic() + 2.0
    while True:
        v = scan(rotated, a)
        if v["hash_matches"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    [hit] = v["hash_matches"]
    assert (hit["bank"], hit["transform"], hit["labels"]) == (
        "terror",
        "rotate_90_cw",
        ["terrorism"],
    )
    assert v["action"] == "block"
    assert [h["rule"] for h in v["rule_hits"]] == ["known-content"]
    other = scan(original, b)
    assert other["hash_matches"] == []
    assert other["action"] == "pass"


def _clustered_pdq(n: int, seed: int = 3) -> list[str]:
    import numpy as np

    rng = np.random.default_rng(seed)
    return [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(n)]


def test_a_snapshot_reloads_the_index_and_replays_later_changes(
    store: Store, banks: BankStore, tmp_path: Any
) -> None:
    t = _tenant(store)
    banks.create_bank(t, "csam", "block")
    values = _clustered_pdq(300)
    ids = banks.add_entries(t, "csam", [NewEntry("pdq", v) for v in values]).ids
    first = BankMatcher(banks, t, snapshot_dir=tmp_path, snapshot_min_entries=0)
    first.load()
    assert first.loaded_from == "database"
    path = first.snapshot_path
    assert path == tmp_path / f"{t}.wnidx"
    deadline = time.monotonic() + 10
    while not path.exists():  # written in the background after the build
        assert time.monotonic() < deadline, "no snapshot was written after the index was built"
        time.sleep(0.02)
    assert first.save_snapshot() is False  # nothing changed since
    first.close()
    # changes after the snapshot: one removed, one disabled, one added
    banks.remove_entries(t, "csam", ids=[ids[0]])
    banks.set_state(t, "csam", [ids[1]], "disabled", "reviewed: wrong")
    banks.add_entries(t, "csam", [NewEntry("pdq", A)])
    second = BankMatcher(banks, t, snapshot_dir=tmp_path, snapshot_min_entries=0)
    second.load()
    assert second.loaded_from == "snapshot"
    assert second.seq == banks.last_change(t)

    def hit(m: BankMatcher, value: str) -> bool:
        return bool(m.match([_pdq(value)], record=False).matches)

    assert [hit(second, v) for v in (values[0], values[1], values[2], A)] == [
        False,
        False,
        True,
        True,
    ]
    assert hit(second, values[-1])
    # the index moved, so close() writes a new snapshot that a third process loads as is
    second.close()
    third = BankMatcher(banks, t, snapshot_dir=tmp_path, snapshot_min_entries=0)
    third.load()
    assert (third.loaded_from, third.seq) == ("snapshot", second.seq)
    assert [hit(third, v) for v in (values[0], values[1], A)] == [False, False, True]
    third.close()


def test_a_snapshot_of_another_tenant_or_a_damaged_file_is_rebuilt(
    store: Store, banks: BankStore, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = _tenant(store, "a"), _tenant(store, "b")
    for t in (a, b):
        banks.create_bank(t, "bank", "block")
    banks.add_entries(a, "bank", [NewEntry("pdq", A)])
    banks.add_entries(b, "bank", [NewEntry("pdq", FAR)])
    ma = BankMatcher(banks, a, snapshot_dir=tmp_path, snapshot_min_entries=0)
    ma.load()
    ma.close()
    assert ma.snapshot_path is not None
    mb = BankMatcher(banks, b, snapshot_dir=tmp_path, snapshot_min_entries=0)
    assert mb.snapshot_path is not None
    mb.snapshot_path.write_bytes(ma.snapshot_path.read_bytes())  # a's index under b's name
    mb.load()
    assert mb.loaded_from == "database"
    assert "belongs to another database or tenant" in caplog.text
    assert mb.match([_pdq(A)], record=False).matches == []
    assert len(mb.match([_pdq(FAR)], record=False).matches) == 1
    mb.close()
    ma.snapshot_path.write_bytes(b"WNHAMIDX" + b"\0" * 10)
    again = BankMatcher(banks, a, snapshot_dir=tmp_path, snapshot_min_entries=0)
    again.load()
    assert again.loaded_from == "database"
    assert "is unusable" in caplog.text
    assert len(again.match([_pdq(A)], record=False).matches) == 1
    again.close()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WINNOW_DATABASE_URL": "sqlite:///data/w.db"}, "data/w.db.index"),
        ({"WINNOW_DATABASE_URL": "sqlite:///:memory:"}, None),
        ({"WINNOW_INDEX_DIR": "/srv/idx"}, "/srv/idx"),
        ({"WINNOW_INDEX_DIR": "off"}, None),
        (
            {"WINNOW_DATABASE_URL": "postgresql://db/w", "XDG_CACHE_HOME": "/c"},
            "/c/winnow/index",
        ),
    ],
    ids=["beside-sqlite", "memory", "explicit", "off", "postgres-cache"],
)
def test_where_snapshots_go(
    env: dict[str, str], expected: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    from winnow.service.settings import Settings

    monkeypatch.setenv("XDG_CACHE_HOME", env.get("XDG_CACHE_HOME", "/c"))
    got = Settings.from_env(env).snapshot_dir
    assert got == (Path(expected) if expected else None)


def test_a_match_through_the_borders_removed_hash_says_so(store: Store, banks: BankStore) -> None:
    t = _tenant(store)
    banks.create_bank(t, "b", "block")
    banks.add_entries(t, "b", [NewEntry("pdq", A)])
    trimmed = ContentHash("pdq", NEAR_A, quality=90, variant="borders_removed")
    [hit] = BankMatcher(banks, t).match([_pdq(FAR), trimmed], record=False).matches
    assert (hit.distance, hit.transform) == (1, "borders_removed")
