"""Benchmarks: scripts that print measured figures against a real database. They are not tests.

Speed and memory targets live here, as figures a person reads, rather than as timed unit tests
that fail on a slow laptop and pass on a fast one. See ``benchmarks/README.md``.
"""
