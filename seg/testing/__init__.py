"""Tooling for ``tests/`` and ``tools/``, not runtime API.

This package holds the reference-case harness (checks of this code base against saved outputs
of the published OMG-Seg code), benchmarks, profilers and synthetic data generators. Nothing in
the rest of ``seg`` imports it, so it stays free to depend on anything the runtime provides.
Import the submodules directly (``from seg.testing.case_runs import run_reference_case``); this
file imports nothing so that ``import seg.testing`` stays cheap.
"""
