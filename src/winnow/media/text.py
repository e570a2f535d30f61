"""Decode text safely and hand it to detectors in overlapping chunks, in bounded memory.

A text is read (from a string, bytes or a file) in blocks, decoded incrementally, and cut into
chunks of ``chunk_chars`` characters. Each chunk carries ``context`` characters before it and
``overlap`` after it, so a match that crosses a chunk border is seen whole by the chunk it starts
in; the engine keeps each finding only from the chunk that owns its start. Memory stays at a few
chunks whatever the size of the text.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from winnow.detectors.base import TextChunk
from winnow.errors import ContentError, DecodeError, LimitExceededError, UnsupportedMediaError
from winnow.media.sniff import looks_binary, open_file, sniff_binary
from winnow.types import Content

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_BLOCK = 1 << 20
DEFAULT_MAX_TEXT_BYTES = 256 << 20


@dataclass(frozen=True, slots=True)
class TextLimits:
    """Limits on text input. Every refusal names the limit it broke."""

    max_bytes: int = DEFAULT_MAX_TEXT_BYTES
    chunk_chars: int = 1 << 20
    overlap: int = 4096
    context: int = 256
    decode_errors: Literal["strict", "replace"] = "strict"


def _utf8_size(text: str) -> int:
    """UTF-8 length of a string without encoding all of it at once."""
    if text.isascii():
        return len(text)
    return sum(
        len(text[i : i + _BLOCK].encode("utf-8", "surrogatepass"))
        for i in range(0, len(text), _BLOCK)
    )


class TextSource:
    """A text to scan: its chunks, and once read, its size, SHA-256 and MD5 (for hash banks)."""

    def __init__(self, content: Content, limits: TextLimits) -> None:
        self.content = content
        self.limits = limits
        self.size = 0  # bytes, as measured before reading (the file's size)
        self.bytes = 0
        self.chars = 0
        self.replaced = 0
        self._sha = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.encoding = "utf-8"
        self._check_head()

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()

    def _open(self) -> BinaryIO:
        assert self.content.path is not None
        return open_file(self.content.path)

    def _check_head(self) -> None:
        c = self.content
        if c.text is not None:
            size = _utf8_size(c.text)
            head = c.text[:8192].encode("utf-8", "surrogatepass")
        elif c.data is not None:
            size, head = len(c.data), c.data[:8192]
        else:
            assert c.path is not None
            with self._open() as f:
                head = f.read(8192)
                size = Path(f.name).stat().st_size if isinstance(f.name, str) else len(head)
        self.size = size
        if size == 0:
            raise ContentError("empty input: there is nothing to scan (0 bytes)")
        if size > self.limits.max_bytes:
            raise LimitExceededError("max_text_bytes", size, self.limits.max_bytes, "bytes")
        if c.text is not None:
            if "\x00" in c.text[:8192]:
                raise DecodeError("text contains NUL characters: this looks like binary data")
            return
        mime = sniff_binary(head)
        if mime is not None:
            raise UnsupportedMediaError(
                f"content is {mime} (recognised from its bytes); Winnow scans text and images"
            )
        self.encoding = c.encoding or next(
            (enc for bom, enc in _BOMS if head.startswith(bom)), "utf-8"
        )
        if not self.encoding.startswith("utf-16") and not self.encoding.startswith("utf-32"):
            why = looks_binary(head)
            if why is not None:
                raise UnsupportedMediaError(f"content is not text ({why}); send text as UTF-8")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ContentError(f"unknown text encoding {self.encoding!r}") from None

    def _pieces(self) -> Iterator[str]:
        c = self.content
        if c.text is not None:
            step = min(_BLOCK, self.limits.chunk_chars)
            for i in range(0, len(c.text), step):
                piece = c.text[i : i + step]
                encoded = piece.encode("utf-8", "surrogatepass")
                self._sha.update(encoded)
                self._md5.update(encoded)
                self.bytes += len(encoded)
                yield piece
            return
        decoder = codecs.getincrementaldecoder(self.encoding)(errors=self.limits.decode_errors)
        block_size = min(_BLOCK, self.limits.chunk_chars)

        def blocks() -> Iterator[bytes]:
            if c.data is not None:
                view = memoryview(c.data)
                for i in range(0, len(view), block_size):
                    yield bytes(view[i : i + block_size])
            else:
                with self._open() as f:
                    while block := f.read(block_size):
                        yield block

        consumed = 0
        for block in blocks():
            self.bytes += len(block)
            if self.bytes > self.limits.max_bytes:
                raise LimitExceededError(
                    "max_text_bytes", self.bytes, self.limits.max_bytes, "bytes"
                )
            self._sha.update(block)
            self._md5.update(block)
            try:
                piece = decoder.decode(block)
            except UnicodeDecodeError as exc:
                raise self._decode_error(exc, consumed) from None
            consumed += len(block)
            if self.limits.decode_errors == "replace":
                self.replaced += piece.count("\ufffd")
            yield piece
        try:
            tail = decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise self._decode_error(exc, consumed) from None
        if tail:
            yield tail

    def _decode_error(self, exc: UnicodeDecodeError, consumed: int) -> DecodeError:
        at = consumed + exc.start
        bad = exc.object[exc.start : exc.start + 4].hex(" ")
        return DecodeError(
            f"invalid {self.encoding} at byte {at:,} ({bad}): {exc.reason}. Send UTF-8, name the "
            "encoding (for example gb18030), or ask for invalid bytes to be replaced"
        )

    def chunks(self) -> Iterator[TextChunk]:
        """Overlapping chunks; each finding belongs to the chunk its start falls in."""
        size, overlap, ctx = self.limits.chunk_chars, self.limits.overlap, self.limits.context
        buf = ""
        buf_start = 0  # absolute offset of buf[0]
        own = 0  # absolute start of the next chunk's own region
        for piece in self._pieces():
            buf += piece
            self.chars += len(piece)
            while (buf_start + len(buf)) - own >= size + overlap:
                lo = max(buf_start, own - ctx)
                text = buf[lo - buf_start : own + size + overlap - buf_start]
                yield TextChunk(text, lo, own - lo, own - lo + size)
                own += size
                cut = max(0, own - ctx - buf_start)
                buf, buf_start = buf[cut:], buf_start + cut
        end = buf_start + len(buf)
        if own < end or own == 0:
            lo = max(buf_start, own - ctx)
            yield TextChunk(buf[lo - buf_start :], lo, own - lo, end - lo)
