"""The one-trip press: the raw press's statements made in one round trip to the database.

The raw press (:func:`benchmarks.press_rig.raw_press`) sends its statements one at a time, as ours
does: six round trips in a transaction (seven on a user's first completion of the day, the streak's),
eight with its ``BEGIN`` and ``COMMIT``. Under load a web process pays for each in CPU, not only in
waiting (the call through the driver, the thread giving up the GIL and taking it back from the
server's other threads). This press makes the same statements, the very
streak statement included, inside one PL/pgSQL function (:data:`FUNCTION`), called once in the
press's transaction; then it calls Slack and Redis as the raw press does. So it is what a press
doing what ours does costs when its transaction costs one round trip: how close to the floor such a
press can come. The bench creates the function for the run and drops it after (:func:`installed`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, text

from core.streaks import REFRESH_ONE

FUNCTION = "nbm_bench_one_trip_press"


def definition() -> str:
    """The function's ``CREATE``: the raw press's statements in its order, the streak's taken from
    :data:`core.streaks.REFRESH_ONE` itself (its two parameters numbered for ``EXECUTE … USING``)."""
    streak = str(REFRESH_ONE).replace(":user_id", "$1").replace(":today", "$2")
    return f"""
CREATE OR REPLACE FUNCTION {FUNCTION}(p_team text, p_user text, p_action uuid, p_now text) RETURNS uuid
LANGUAGE plpgsql AS $function$
DECLARE
    uid uuid;
    zone text;
    last_day date;
    today date;
BEGIN
    PERFORM set_config('app.service', 'on', true), set_config('app.now', p_now, true);
    SELECT u.id, u.timezone, u.last_action_date INTO STRICT uid, zone, last_day
        FROM users u JOIN slack_user_links k ON k.user_id = u.id
        WHERE k.team_id = p_team AND k.slack_user_id = p_user;
    PERFORM set_config('app.user_id', uid::text, true), set_config('app.service', '', true);
    PERFORM 1 FROM leads l WHERE l.id = (SELECT a.person_id FROM actions a WHERE a.id = p_action
        AND a.user_id = uid) AND l.user_id = uid FOR NO KEY UPDATE;
    PERFORM 1 FROM actions a WHERE a.id = p_action AND a.user_id = uid FOR UPDATE;
    UPDATE actions SET state = 'DONE', completed_at = now() WHERE id = p_action;
    INSERT INTO action_events (id, user_id, action_id, from_state, to_state, channel, created_at)
        VALUES (gen_random_uuid(), uid, p_action, 'NEW', 'DONE', 'slack', now());
    today := (now() AT TIME ZONE zone)::date;
    IF last_day IS DISTINCT FROM today THEN  -- a day counts once (core.streaks.count_completion)
        EXECUTE $streak${streak}$streak$ USING uid, today;
    END IF;
    RETURN uid;
END
$function$"""


@contextmanager
def installed(engine: Engine) -> Iterator[None]:
    """The function in the bench's database for the ``with`` block, dropped after it."""
    with engine.begin() as connection:
        connection.execute(text(definition()))
    try:
        yield
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP FUNCTION IF EXISTS {FUNCTION}(text, text, uuid, text)"))


def one_trip_press(engine: Engine, after_commit: Callable[[dict[str, Any], Any, Any], None]) -> Any:
    """A Done press as one call of :data:`FUNCTION` in one transaction, then ``after_commit`` (the
    raw press's ``chat.update`` and Redis round trip) with the pressing user's id."""
    call = text(f"SELECT {FUNCTION}(:team, :user, :id, :now)")

    def press(body: dict[str, Any], client: Any) -> None:
        with engine.begin() as connection:
            user_id = connection.execute(call, {
                "team": body["team"]["id"], "user": body["user"]["id"], "id": body["actions"][0]["value"],
                "now": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())}).scalar_one()
        after_commit(body, client, user_id)

    return press
