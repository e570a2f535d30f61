"""Types of the compiled core (src/winnow/_native.c). Tables are C-contiguous numpy arrays."""

from typing import Any

import numpy.typing as npt

_Table = npt.NDArray[Any]

def fold(text: str, expand: dict[int, str], table: _Table) -> tuple[str, bytes, bytes | None]: ...
def match(
    text: str, expand: dict[int, str], table: _Table, cls: _Table, leet: _Table
) -> tuple[str, bytes, bytes, bytes, bytes]: ...
def runs(text: str, table: _Table, mask: int, need: int, min_len: int) -> bytes: ...
def byte_starts(text: str) -> bytes: ...
