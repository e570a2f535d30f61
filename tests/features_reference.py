"""The text classifiers' n-gram features in plain Python: the definition that the compiled
``winnow._features.ngrams`` must equal (see its header for the rules)."""

from __future__ import annotations

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
MASK64 = (1 << 64) - 1


def is_cjk(c: int) -> bool:
    return (
        0x3400 <= c <= 0x4DBF
        or 0x4E00 <= c <= 0x9FFF
        or 0xF900 <= c <= 0xFAFF
        or 0x3040 <= c <= 0x30FF
        or 0xAC00 <= c <= 0xD7AF
        or 0x20000 <= c <= 0x2FA1F
    )


def _hash(kind: int, codes: list[int]) -> int:
    h = ((FNV_OFFSET ^ kind) * FNV_PRIME) & MASK64
    for c in codes:
        h = ((h ^ c) * FNV_PRIME) & MASK64
    return h


def ngrams(text: str, buckets: int, placeholder: str | None = None) -> list[tuple[int, int, int]]:
    """(bucket, start, end) of every n-gram occurrence, in the compiled code's order. With a
    ``placeholder`` character, an n-gram whose span has no word character (an ASCII letter or
    digit, or any other non-ASCII character) is left out."""
    out: list[tuple[int, int, int]] = []
    mask = buckets - 1

    def word(ch: str) -> bool:
        return (ch.isascii() and ch.isalnum()) or (not ch.isascii() and ch != placeholder)

    def put(h: int, s: int, e: int) -> None:
        if placeholder is not None and not any(word(ch) for ch in text[s:e]):
            return
        out.append(((h ^ (h >> 32)) & mask, s, e))

    codes = [ord(c) for c in text]
    n = len(codes)
    prev: tuple[int, int] | None = None
    i = 0
    while i < n:
        c = codes[i]
        if is_cjk(c):
            j = i
            while j < n and is_cjk(codes[j]):
                j += 1
            for a in range(i, j):
                for k in range(3):
                    if a + k < j:
                        put(_hash(4, codes[a : a + k + 1]), a, a + k + 1)
            i = j
            continue
        if not text[i].isalnum():
            i += 1
            continue
        j = i
        while j < n and not is_cjk(codes[j]) and text[j].isalnum():
            j += 1
        put(_hash(1, codes[i:j]), i, j)
        if prev is not None:
            put(_hash(2, [*codes[prev[0] : prev[1]], 32, *codes[i:j]]), prev[0], j)
        prev = (i, j)
        m = min(j - i, 24)
        framed = [ord("<"), *codes[i : i + m], ord(">")]
        for g in (3, 4, 5):
            for a in range(len(framed) - g + 1):
                s = i + (0 if a == 0 else a - 1)
                e = i + min(a + g - 1, m)
                put(_hash(3, framed[a : a + g]), s, e)
        i = j
    return out
