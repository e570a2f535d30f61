"""Builds Winnow's compiled core; everything else about the package is in pyproject.toml.

``winnow._native`` holds the per-character loops of text normalisation (src/winnow/_native.c);
it needs a C compiler and the Python headers at install time (see docs/benchmarks.md for why).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("winnow._native", sources=["src/winnow/_native.c"], extra_compile_args=["-O2"])
    ]
)
