"""Builds Winnow's compiled core; everything else about the package is in pyproject.toml.

``winnow._native`` holds the per-character loops of text normalisation (src/winnow/_native.c),
``winnow._pdq`` the PDQ image hash (src/winnow/_pdq.c), ``winnow._hamming`` the exact
Hamming-radius index of the hash banks (src/winnow/_hamming.c) and ``winnow._features`` the text
classifiers' hashed n-grams (src/winnow/_features.c); they need a C compiler and the Python
headers at install time (see docs/benchmarks.md for why). PDQ must be bit-exact, so no fused
multiply-add may change its float arithmetic.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("winnow._native", sources=["src/winnow/_native.c"], extra_compile_args=["-O2"]),
        Extension(
            "winnow._pdq",
            sources=["src/winnow/_pdq.c"],
            extra_compile_args=["-O2", "-ffp-contract=off"],
        ),
        Extension("winnow._hamming", sources=["src/winnow/_hamming.c"], extra_compile_args=["-O2"]),
        Extension(
            "winnow._features", sources=["src/winnow/_features.c"], extra_compile_args=["-O2"]
        ),
    ]
)
