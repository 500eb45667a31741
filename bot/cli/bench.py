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

#: ``nbm bench NAME`` → the module whose ``main(argv) -> int`` runs it, and what it measures.
BENCHES = {
    "morning": ("benchmarks.morning", "N users due at once: tick, plan, compose and send, through RQ workers."),
    "press": ("benchmarks.press", "A Slack button press under the production server, beside bare Bolt."),
    "digest": ("benchmarks.digest", "Composing a digest email, beside Jinja2 and css-inline alone."),
    "plan": ("benchmarks.plan_batch", "The morning's batch planning, beside one SQL statement per batch."),
    "tick": ("benchmarks.morning_tick", "The scheduler's question each minute, over every user."),
    "import": ("benchmarks.leads_import", "CSV import of N rows, beside COPY."),
    "connections": ("benchmarks.connections", "A call to each outside service on a kept connection."),
}
#: The repository's root: ``benchmarks/`` is not installed with the package, and the ``nbm`` script does
#: not run from there.
_ROOT = str(Path(__file__).resolve().parents[2])


@click.group("bench")
def bench_command() -> None:
    """Measure a benchmark beside its floor; `nbm bench NAME --help` for its options."""


def _bench(name: str, module: str, summary: str) -> None:
    """``nbm bench NAME [OPTIONS]``: its options, ``--help`` included, go to the benchmark's own parser."""

    @bench_command.command(name, help=summary, short_help=summary, add_help_option=False,
                           context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def run(args: tuple[str, ...]) -> None:
        if _ROOT not in sys.path:
            sys.path.insert(0, _ROOT)
        # argparse names the program after sys.argv[0]: its usage line must read "nbm bench NAME".
        program, sys.argv[0] = sys.argv[0], f"nbm bench {name}"
        try:
            code = import_module(module).main(list(args))
        finally:
            sys.argv[0] = program
        sys.exit(code)


for _name, (_module, _summary) in BENCHES.items():
    _bench(_name, _module, _summary)
