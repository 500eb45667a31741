"""A quick run of the benchmarks at small sizes: do they still run, and do their statement targets hold?

Not a test (nothing here is collected by pytest) and not a measurement (small sizes say little
about speed, and a ratio to a floor at 3 users says nothing at all): a check, in a few seconds, that
the scripts work against the current schema and code, and that the size-independent targets (a
fixed number of statements per batch or tick) hold. Their timing verdicts are shown but not judged.
Exits 1 if any benchmark fails or misses a statement target. (``benchmarks.morning`` is left out:
it needs Redis and starts worker processes; run it at a small size by hand, ``--users 50``.)

Run: ``python -m benchmarks.smoke``.
"""

from __future__ import annotations

import io
import sys
from contextlib import redirect_stdout

from benchmarks import digest, morning_tick, plan_batch

RUNS = (
    ("plan_batch", plan_batch.main, ["--users", "3", "12", "--repeat", "1"]),
    ("morning_tick", morning_tick.main, ["--users", "30", "120", "--repeat", "1"]),
    ("digest", digest.main, ["--users", "5", "--repeat", "1"]),
)


class _Tee(io.StringIO):
    """Keeps what is printed, and prints it to where printing went before (``redirect_stdout`` then
    points ``sys.stdout`` at this)."""

    def __init__(self) -> None:
        super().__init__()
        self.out = sys.stdout

    def write(self, text: str) -> int:
        self.out.write(text)
        return super().write(text)


def main() -> int:
    failed = []
    for name, run, argv in RUNS:
        print(f"== {name} {' '.join(argv)}")
        output = _Tee()
        try:
            with redirect_stdout(output):
                run(argv)
        except Exception as exc:  # a benchmark that cannot run at all is what this check is for
            print(f"{name} failed: {type(exc).__name__}: {exc}")
            failed.append(name)
        else:
            if any(line.startswith("MISS") and "statements" in line for line in output.getvalue().splitlines()):
                failed.append(name)
        print()
    print(f"smoke: {'failed: ' + ', '.join(failed) if failed else 'every benchmark ran and met its statement targets'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
