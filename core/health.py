"""The database's state, as reported by ``/healthz`` and ``nbm db check``.

:meth:`DatabaseStatus.describe` is for operators (``nbm db check``, the server log): the driver's
message it carries names hosts, ports, databases and roles, so ``/healthz`` never sends it to its
anonymous callers.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from core import migrate


@dataclass(frozen=True)
class DatabaseStatus:
    reachable: bool
    revision: str | None
    head: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.reachable and self.revision == self.head

    def describe(self) -> str:
        if not self.reachable:
            return f"database unreachable: {self.error}"
        if self.revision != self.head:
            return f"database at revision {self.revision or 'none'}, code expects {self.head}: run `nbm db upgrade`"
        return f"database reachable, schema at revision {self.revision} (current)"


def database_status(engine: Engine) -> DatabaseStatus:
    """Connect, read the schema revision, compare it with the code's single head."""
    (head,) = migrate.heads()
    try:
        with engine.connect() as connection:
            return DatabaseStatus(True, migrate.current_revision(connection), head)
    except SQLAlchemyError as exc:
        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        return DatabaseStatus(False, None, head, error=str(cause).splitlines()[0])
