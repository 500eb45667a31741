"""A quick run of every benchmark at small sizes: do they still run, and do their targets hold?

Not a test (nothing here is collected by pytest) and not a measurement (small sizes say little
about speed): a check, in a few seconds, that the scripts work against the current schema and
code, and that the size-independent targets (a fixed number of statements per batch or tick) hold.
Exits 1 if any benchmark fails or misses a target.

Run: ``python -m benchmarks.smoke``.
"""

from __future__ import annotations

import sys

from benchmarks import morning_tick, plan_batch

RUNS = (
    ("plan_batch", plan_batch.main, ["--users", "3", "12", "--repeat", "1"]),
    ("morning_tick", morning_tick.main, ["--users", "30", "120", "--repeat", "1"]),
)


def main() -> int:
    failed = []
    for name, run, argv in RUNS:
        print(f"== {name} {' '.join(argv)}")
        if run(argv) != 0:
            failed.append(name)
        print()
    print(f"smoke: {'failed: ' + ', '.join(failed) if failed else 'every benchmark ran and met its targets'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
