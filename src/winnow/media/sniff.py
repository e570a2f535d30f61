"""Recognise a file's type from its first bytes, never from its name; open files to be scanned."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from winnow.errors import ContentError


def open_file(path: Path) -> BinaryIO:
    """A file opened for scanning, or a ContentError that says why it cannot be."""
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise ContentError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise ContentError(f"{path} is a directory") from None
    except OSError as exc:
        raise ContentError(f"cannot read {path}: {exc.strerror}") from None


_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"BM", 0, "image/bmp"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
    (b"%PDF-", 0, "application/pdf"),
    (b"PK\x03\x04", 0, "application/zip"),
    (b"\x1f\x8b", 0, "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", 0, "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", 0, "application/vnd.rar"),
    (b"\x7fELF", 0, "application/x-executable"),
    (b"MZ", 0, "application/x-msdownload"),
    (b"\x1a\x45\xdf\xa3", 0, "video/webm"),
    (b"OggS", 0, "audio/ogg"),
    (b"ID3", 0, "audio/mpeg"),
    (b"fLaC", 0, "audio/flac"),
    (b"\x00\x00\x00\x0cjP  ", 0, "image/jp2"),
)
_FTYP = {
    b"heic": "image/heic", b"heix": "image/heic", b"mif1": "image/heif", b"msf1": "image/heif",
    b"avif": "image/avif", b"avis": "image/avif", b"qt  ": "video/quicktime",
}  # fmt: skip


def sniff_binary(head: bytes) -> str | None:
    """The media type of a known binary format, or None when the bytes may be text."""
    for magic, offset, mime in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return mime
    if head[:4] == b"RIFF" and len(head) >= 12:
        return {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}.get(
            head[8:12], "application/octet-stream"
        )
    if head[4:8] == b"ftyp":
        return _FTYP.get(head[8:12], "video/mp4")
    return None


_TEXT_CONTROLS = frozenset(b"\t\n\r\x0b\x0c\x1b")


def looks_binary(head: bytes) -> str | None:
    """Why a head of bytes is not text (NUL bytes, many control characters), or None."""
    if not head:
        return None
    nul = head.find(b"\x00")
    if nul >= 0:
        return f"NUL byte at offset {nul}"
    controls = sum(1 for b in head if b < 0x20 and b not in _TEXT_CONTROLS)
    if controls / len(head) > 0.1:
        return f"{controls} control bytes in the first {len(head)} bytes"
    return None
