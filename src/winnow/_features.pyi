"""Types of the compiled classifier features and language identifier (src/winnow/_features.c)."""

from typing import Any

# Arrays are passed as buffers (numpy arrays of the documented dtypes).
def ngrams(text: str, buckets: int, placeholder: int = 0) -> tuple[bytes, bytes, bytes]: ...
def vector(ids: Any) -> tuple[bytes, bytes, bytes]: ...
def margins(cols: Any, vals: Any, matrix: Any, bias: Any) -> bytes: ...  # matrix: float16
def langid(
    text: bytes,
    nextmove: Any,
    offsets: Any,
    feats: Any,
    ptc: Any,
    pc: Any,
    scratch: Any,
) -> tuple[int, float]: ...
