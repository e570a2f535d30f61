"""Types of the compiled PDQ hasher (src/winnow/_pdq.c)."""

from typing import Any

import numpy.typing as npt

def hash(pixels: npt.NDArray[Any], rows: int, cols: int, channels: int) -> tuple[bytes, int]: ...
def dihedral(
    pixels: npt.NDArray[Any], rows: int, cols: int, channels: int
) -> tuple[bytes, int]: ...
