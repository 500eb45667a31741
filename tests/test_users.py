"""Users: created with validated input and default settings; email unique whatever its case."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy.orm import Session

from core.errors import ValidationError
from core.users import create_user, get_settings_for, get_user_by_email, set_timezone


def test_a_new_user_gets_the_products_default_settings(service: Session) -> None:
    user = create_user(service, email="Ann@Example.com", name="  Ann Lee ", timezone="Europe/Paris")
    settings = get_settings_for(service, user)
    assert (user.name, settings.delivery_time, settings.work_days, settings.email_enabled, settings.slack_enabled) == (
        "Ann Lee", time(7, 30), [1, 2, 3, 4, 5], True, False)
    assert get_user_by_email(service, "ann@example.COM").id == user.id


@pytest.mark.parametrize(("fields", "message"), [
    ({"email": "not-an-email"}, "is not an email address"),
    ({"name": "   "}, "the name is blank"),
    ({"timezone": "Europe/Atlantis"}, "is not an IANA timezone"),
])
def test_bad_input_is_refused_and_nobody_is_created(service: Session, fields: dict[str, str], message: str) -> None:
    values = {"email": "bo@example.com", "name": "Bo", "timezone": "UTC"} | fields
    with pytest.raises(ValidationError, match=message):
        create_user(service, **values)
    with pytest.raises(Exception, match="no user with the email"):
        get_user_by_email(service, "bo@example.com")


def test_changing_timezone_is_validated(service: Session) -> None:
    user = create_user(service, email="cy@example.com", name="Cy", timezone="UTC")
    with pytest.raises(ValidationError, match="is not an IANA timezone"):
        set_timezone(service, user=user, timezone="Mars/Base")
    set_timezone(service, user=user, timezone=" Asia/Kolkata ")
    assert user.timezone == "Asia/Kolkata"
