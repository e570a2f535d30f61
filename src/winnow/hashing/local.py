"""The hashes of a file for a bank: what ``winnow bank add`` and ``POST /v1/banks/{bank}/entries``
store when they are given the content itself rather than its hashes.

An image gives its MD5 and its PDQ hash (refused when the PDQ quality is under 50: a flat image's
PDQ would match unrelated content); any other file its MD5 and SHA-256. Only hashes are kept.
"""

from __future__ import annotations

import hashlib

from winnow.errors import ContentError
from winnow.media.image import IMAGE_TYPES, ImageLimits, decode_image
from winnow.media.sniff import sniff_binary
from winnow.store.banks import DEFAULT_PDQ_MIN_QUALITY, NewEntry


def bank_entries_for(
    data: bytes,
    labels: tuple[str, ...] = (),
    source: str = "",
    note: str | None = None,
    limits: ImageLimits | None = None,
) -> list[NewEntry]:
    """The entries to add for a file's bytes; ContentError if it cannot be hashed usefully."""
    if not data:
        raise ContentError("empty file: nothing to hash")
    if sniff_binary(data[:64]) not in IMAGE_TYPES:
        return [
            NewEntry(
                "md5", hashlib.md5(data, usedforsecurity=False).hexdigest(), labels, source, note
            ),
            NewEntry("sha256", hashlib.sha256(data).hexdigest(), labels, source, note),
        ]
    image = decode_image(data, limits or ImageLimits())
    md5 = next(h.value for h in image.hashes if h.algorithm == "md5")
    out = [NewEntry("md5", md5, labels, source, note)]
    for h in image.hashes:
        if h.algorithm == "pdq" and h.frame in (None, 0) and h.variant is None:
            if (h.quality or 0) < DEFAULT_PDQ_MIN_QUALITY:
                raise ContentError(
                    f"PDQ quality {h.quality} is under {DEFAULT_PDQ_MIN_QUALITY}: this image is "
                    "too flat to match reliably (its MD5 alone would only match identical files)"
                )
            out.append(NewEntry("pdq", h.value, labels, source, note))
    return out
