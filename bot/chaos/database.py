"""The run's own PostgreSQL database: created, migrated, cut off at random, dropped.

As in production (README "Data and privacy"), the product connects as a role of its own that owns
the tables and is neither a superuser nor BYPASSRLS, so row-level security applies to every
process of the run. The server's administrative URL is used only to create and drop the database
and the role, and to terminate the product's connections (``pg_terminate_backend`` on the
database's own backends, never anyone else's: the server is shared).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import Engine, create_engine, make_url, text

from core import migrate
from core.config import normalize_database_url
from core.db import make_engine


@dataclass
class ThrowawayDatabase:
    admin_url: str
    token: str = field(default_factory=lambda: secrets.token_hex(4))
    _admin: Engine | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return f"nbm_chaos_{self.token}"

    @property
    def role(self) -> str:
        return f"{self.name}_app"

    @property
    def url(self) -> str:
        """The product's URL: the run's role on the run's database (the server trusts local roles)."""
        url = make_url(normalize_database_url(self.admin_url)).set(username=self.role, password=None,
                                                                   database=self.name)
        return url.render_as_string(hide_password=False)

    def admin(self) -> Engine:
        if self._admin is None:
            self._admin = create_engine(normalize_database_url(self.admin_url), isolation_level="AUTOCOMMIT",
                                        pool_pre_ping=True)
        return self._admin

    def create(self) -> None:
        """Create the role and the database it owns, then migrate to head as that role (``nbm db upgrade``)."""
        with self.admin().connect() as conn:
            conn.execute(text(f"CREATE ROLE {self.role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"))
            conn.execute(text(f"CREATE DATABASE {self.name} OWNER {self.role}"))
        engine = make_engine(self.url)
        try:
            with engine.connect() as conn:
                migrate.upgrade(conn)
                conn.commit()
        finally:
            engine.dispose()

    def cut_connections(self) -> int:
        """Terminate every backend connected to the run's database; how many were."""
        with self.admin().connect() as conn:
            return len(conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ), {"name": self.name}).all())

    def drop(self) -> None:
        with self.admin().connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                         {"name": self.name})
            conn.execute(text(f"DROP DATABASE IF EXISTS {self.name}"))
            conn.execute(text(f"DROP ROLE IF EXISTS {self.role}"))
        self.dispose()

    def dispose(self) -> None:
        if self._admin is not None:
            self._admin.dispose()
            self._admin = None
