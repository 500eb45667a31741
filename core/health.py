"""The database's state, as reported by ``/healthz`` and ``nbm db check``, and the check of its role.

:meth:`DatabaseStatus.describe` is for operators (``nbm db check``, ``nbm db upgrade``, the server
log): the driver's message it carries names hosts, ports, databases and roles, so ``/healthz``
never sends it to its anonymous callers.

**Bounded.** The check waits at most :data:`core.db.CONNECT_TIMEOUT_SECONDS` to connect, then runs
its statements under :data:`STATEMENT_TIMEOUT` (a lock or a busy server), so ``/healthz`` answers
503 within seconds when the database cannot be reached or does not answer a new connection (a load
balancer's probes must not hold every web thread). A connection already in the pool whose server
then stops answering altogether is bounded by neither: the server cannot cancel what it never reads.

**Row-level security needs a plain role.** A superuser or a ``BYPASSRLS`` role reads and writes
every user's rows whatever the policies say (migrations: the RLS policies), so RLS, the backstop
behind the services, silently stops holding. The embedded development server connects as
``postgres``, a superuser, which is fine there; production refuses to start with such a role
(:func:`refuse_role_bypassing_rls`), and ``nbm db check`` says it plainly everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from core import migrate
from core.config import Settings
from core.errors import ConfigError

#: How long the health check's statements may run (the connection has its own timeout).
STATEMENT_TIMEOUT = "2s"

_ROLE = text("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")


@dataclass(frozen=True)
class DatabaseStatus:
    reachable: bool
    revision: str | None
    head: str
    error: str | None = None
    #: Why the connecting role escapes row-level security ("a superuser", "has BYPASSRLS"), None if it does not.
    rls_bypass: str | None = None

    @property
    def ok(self) -> bool:
        return self.reachable and self.revision == self.head

    def describe(self) -> str:
        if not self.reachable:
            return f"database unreachable: {self.error}"
        if self.revision != self.head:
            return f"database at revision {self.revision or 'none'}, code expects {self.head}: run `nbm db upgrade`"
        return f"database reachable, schema at revision {self.revision} (current)"


def unreachable(exc: SQLAlchemyError) -> DatabaseStatus:
    """The status of a database that could not be reached, with the first line of the driver's reason."""
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    return DatabaseStatus(False, None, migrate.heads()[0], error=str(cause).splitlines()[0])


def database_status(engine: Engine) -> DatabaseStatus:
    """Connect, read the schema revision and the role's privileges, compare the revision with the code's single head."""
    (head,) = migrate.heads()
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT set_config('statement_timeout', :t, true)"), {"t": STATEMENT_TIMEOUT})
            return DatabaseStatus(True, migrate.current_revision(connection), head,
                                  rls_bypass=rls_bypass(connection))
    except SQLAlchemyError as exc:
        return unreachable(exc)


def rls_bypass(connection: Connection) -> str | None:
    """How the connection's role escapes row-level security, in words ending "role NAME is …"; None if it does not."""
    name, superuser, bypassrls = connection.execute(_ROLE).one()
    if superuser:
        return f"the role {name!r} is a superuser"
    if bypassrls:
        return f"the role {name!r} has BYPASSRLS"
    return None


def rls_bypass_problem(bypass: str) -> str:
    """The sentence an operator reads about a role that escapes row-level security, saying what to use."""
    return (f"DATABASE_URL connects as a role that escapes row-level security ({bypass}), so every user's data "
            "is open to every query: connect as a role that is neither a superuser nor has BYPASSRLS")


def refuse_role_bypassing_rls(settings: Settings, engine: Engine) -> None:
    """In production, refuse to start (a :class:`ConfigError`, as ``core.config`` refuses) with a role
    that escapes row-level security. A database unreachable at start is left to the process's own
    handling of it (``/healthz`` answers 503, a tick fails and is logged): it is checked again at the
    next start."""
    if not settings.is_production:
        return
    status = database_status(engine)
    if status.rls_bypass is not None:
        raise ConfigError("refusing to start in production: " + rls_bypass_problem(status.rls_bypass))
