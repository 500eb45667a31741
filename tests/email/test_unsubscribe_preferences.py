"""One-click unsubscribe (RFC 8058) and the preferences page reached from the footer; an old link keeps
only its own power."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy.orm import Session

from core.actions import marks
from core.models import SlackUserLink, UserSettings
from tests.email.pages import action_path, forms, hrefs, make_world, path, reload, tamper, text_of
from tests.factories import make_user

pytestmark = pytest.mark.usefixtures("email_settings", "clock")


def settings_of(session: Session, user) -> UserSettings:
    return reload(session, session.get(UserSettings, user.id))


def test_the_mail_providers_one_click_post_turns_email_off(client, links, service) -> None:
    user = make_user(service)
    response = client.post(path(links.unsubscribe_url(user_id=user.id)), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    settings = settings_of(service, user)
    assert settings.email_enabled is False and settings.email_unsubscribed_at is not None
    assert "You are unsubscribed" in text_of(response.text)


def test_opening_the_unsubscribe_link_asks_first_then_the_button_unsubscribes(client, links, service) -> None:
    user = make_user(service, email="zoe@example.com")
    url = path(links.unsubscribe_url(user_id=user.id))
    page = client.get(url)
    assert "Stop the NextBestMove emails?" in text_of(page.text) and "zoe@example.com" in page.text
    assert settings_of(service, user).email_enabled is True
    assert forms(page.text) == [("Unsubscribe", url)]
    client.post(url)
    assert settings_of(service, user).email_enabled is False


def test_unsubscribing_twice_keeps_the_first_date(client, links, service, clock) -> None:
    user = make_user(service)
    url = path(links.unsubscribe_url(user_id=user.id))
    client.post(url)
    first = settings_of(service, user).email_unsubscribed_at
    clock.shift(timedelta(days=1))
    client.post(url)
    assert settings_of(service, user).email_unsubscribed_at == first


def test_the_unsubscribe_link_cannot_turn_email_back_on(client, links, service) -> None:
    """It never expires and sits in every email, forwarded ones too: it keeps only the power to stop email."""
    user = make_user(service, email="zoe@example.com")
    url = path(links.unsubscribe_url(user_id=user.id))
    refused = client.post(url, data={"resubscribe": "1"})  # the button this page once had; nothing changes
    assert refused.status_code == 400
    assert "This link cannot turn email back on" in text_of(refused.text)
    assert settings_of(service, user).email_enabled is True
    page = client.post(url)
    assert "You are unsubscribed" in text_of(page.text)
    assert forms(page.text) == []
    assert "use the “Email preferences” link at the bottom of a recent NextBestMove email, or /nbm settings in " \
           "Slack" in text_of(page.text)
    refused = client.post(url, data={"resubscribe": "1"})
    assert refused.status_code == 400
    assert "Nothing was changed: email to zoe@example.com is off" in text_of(refused.text)
    settings = settings_of(service, user)
    assert settings.email_enabled is False and settings.email_unsubscribed_at is not None


def test_an_expired_action_link_mints_no_fresh_preferences_link(client, links, service, clock) -> None:
    world = make_world(service, names=("Ann Lee",))
    url = action_path(links, world.user, world.actions[0], marks.DONE)
    clock.shift(timedelta(days=8))
    page = client.get(url)
    assert page.status_code == 410 and "This link has expired" in text_of(page.text)
    assert hrefs(page.text) == []
    assert "Use the buttons in your latest NextBestMove email" in text_of(page.text)


def test_an_unsubscribe_link_for_nobody_we_know_is_not_valid(client, links, service) -> None:
    user = make_user(service)
    response = client.post(tamper(path(links.unsubscribe_url(user_id=user.id))))
    assert response.status_code == 404
    assert settings_of(service, user).email_enabled is True


def test_preferences_show_the_current_settings(client, links, service) -> None:
    user = make_user(service, timezone="Europe/Paris")
    page = client.get(path(links.preferences_url(user_id=user.id)))
    assert page.status_code == 200
    assert 'value="07:30"' in page.text
    assert "Europe/Paris" in text_of(page.text)
    for day in range(1, 6):
        assert f'name="work_days" value="{day}" checked' in page.text
    assert 'name="work_days" value="6">' in page.text
    assert 'name="email" value="1" checked' in page.text
    assert 'name="slack"' not in page.text  # no Slack link: no switch that cannot deliver


def test_saving_preferences_changes_time_channels_and_work_days(client, links, service) -> None:
    user = make_user(service)
    service.add(SlackUserLink(user_id=user.id, team_id="T1", slack_user_id="U1"))
    service.flush()
    url = path(links.preferences_url(user_id=user.id))
    page = client.post(url, data={"delivery_time": "08:15", "slack": "1", "work_days": ["1", "2", "3", "4", "5", "6"]})
    assert page.status_code == 200
    assert "Saved." in text_of(page.text)
    settings = settings_of(service, user)
    assert settings.delivery_time == time(8, 15)
    assert settings.work_days == [1, 2, 3, 4, 5, 6]
    assert (settings.email_enabled, settings.slack_enabled) == (False, True)
    assert 'name="slack" value="1" checked' in page.text


def test_turning_every_channel_off_is_allowed_but_warned(client, links, service) -> None:
    user = make_user(service)
    page = client.post(path(links.preferences_url(user_id=user.id)),
                       data={"delivery_time": "07:30", "work_days": ["1"]})
    assert "your plan is not delivered anywhere" in text_of(page.text)


@pytest.mark.parametrize("form, message", [
    ({"delivery_time": "08:15", "email": "1"}, "Pick at least one work day"),
    ({"delivery_time": "25:99", "email": "1", "work_days": ["1"]}, "is not a time of day; use HH:MM"),
    ({"delivery_time": "08:15", "email": "1", "work_days": ["9"]}, "numbered 1 (Monday) to 7 (Sunday)"),
])
def test_bad_preferences_are_refused_whole(client, links, service, form, message) -> None:
    user = make_user(service)
    page = client.post(path(links.preferences_url(user_id=user.id)), data=form)
    assert page.status_code == 400
    assert message in text_of(page.text) and "Nothing was changed." in text_of(page.text)
    settings = settings_of(service, user)
    assert (settings.delivery_time, settings.work_days, settings.email_enabled) == (time(7, 30), [1, 2, 3, 4, 5], True)


def test_turning_email_on_in_preferences_undoes_an_unsubscribe(client, links, service) -> None:
    user = make_user(service)
    client.post(path(links.unsubscribe_url(user_id=user.id)))
    client.post(path(links.preferences_url(user_id=user.id)), data={"delivery_time": "07:30", "email": "1",
                                                                   "work_days": ["1", "2"]})
    settings = settings_of(service, user)
    assert settings.email_enabled is True and settings.email_unsubscribed_at is None


def test_an_old_preferences_link_has_expired(client, links, service, clock) -> None:
    world = make_world(service, names=())
    url = path(links.preferences_url(user_id=world.user.id))
    clock.shift(timedelta(days=91))
    page = client.get(url)
    assert page.status_code == 410 and "This link has expired" in text_of(page.text)
