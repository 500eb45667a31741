"""Who has service (gets plans delivered): the one place that decides it.

With billing off (no Stripe keys configured, or before the billing issue lands) everybody has
full service. The billing issue turns :func:`has_service_sql` into its trialing / active /
grace-period check; every scheduler query calls it, so nothing else needs to change.
"""

from __future__ import annotations


def has_service_sql(users_alias: str) -> str:
    """A SQL condition over ``users`` aliased ``users_alias`` that is true for users with service."""
    return "true"
