"""``nbm bench NAME [OPTIONS]``: the speed and memory benchmarks, each measured beside its floor.

Each lives in ``benchmarks/`` (its module docstring says what it measures and why its floor is the
fair one), runs against the database the settings point at, and prints its figures side by side
with the floor's, then one ``PASS``/``MISS`` line per target; the exit code is 1 when a target is
missed. Results on a reference machine are kept in ``docs/performance.md``. Benchmarks are not
tests: nothing here is asserted in the test suite.
"""

from __future__ import annotations

import sys
from importlib import import_module
from pathlib import Path

import click

#: ``nbm bench NAME`` → the module whose ``main(argv) -> int`` runs it.
BENCHES = {
    "morning": "benchmarks.morning",
    "press": "benchmarks.press",
    "digest": "benchmarks.digest",
    "plan": "benchmarks.plan_batch",
    "tick": "benchmarks.morning_tick",
    "import": "benchmarks.leads_import",
    "connections": "benchmarks.connections",
}
#: The repository's root: ``benchmarks/`` is not installed with the package, and the ``nbm`` script does
#: not run from there.
_ROOT = str(Path(__file__).resolve().parents[2])


@click.command("bench", context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                          "help_option_names": []})
@click.argument("name", type=click.Choice(sorted(BENCHES)))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench_command(name: str, args: tuple[str, ...]) -> None:
    """Measure NAME beside its floor; `nbm bench NAME --help` for its options."""
    if _ROOT not in sys.path:
        sys.path.insert(0, _ROOT)
    main = import_module(BENCHES[name]).main
    sys.exit(main(list(args)))
