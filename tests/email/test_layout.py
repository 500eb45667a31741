"""On a phone: the digest, the weekly summary and every email page fit 375 px with long data, and the
buttons are big enough to tap.

Real headless Chromium, a real web server on 127.0.0.1, real emails from the development outbox (so
the HTML is exactly what ``render_digest`` / ``render_weekly_summary`` and css-inline produce). The
data is the worst a user can type: a 200-character lead name in one word, a name that is an e-mail
address, a long URL in the focus, insight and drafts. Like ``test_browser.py`` this commits real rows
(the server answers on its own connections) and deletes them afterwards.

A screenshot of every page is kept in the test's ``tmp_path`` (``layout-*.png``) for a human to look at.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine

from bot.email.backends import get_backend
from core.db import unit_of_work
from core.models import ActionState, ActionType, WeeklySummary
from tests.email.conftest import NOON
from tests.email.pages import TODAY
from tests.email.sending import mail_digest, mail_summary
from tests.factories import JOINED, deleted_afterwards, make_action, make_event, make_lead, make_plan, make_user

PHONE_WIDTH = 375  # an iPhone SE / mini, the narrowest phone still common
MIN_TAP_HEIGHT = 44  # Apple's Human Interface Guidelines; Android asks for 48 dp

#: One unbreakable word of 200 characters, as a lead name pasted from a badly exported CSV.
LONG_NAME = ("Wolfeschlegelsteinhausenbergerdorff" * 6)[:200]
#: A "name" that is an e-mail address: no spaces, no hyphens, nowhere a browser would wrap on its own.
EMAIL_NAME = "annalise.vandenberghelopez.partnerships@subsidiary.internationalholdingsgroup.example.com"
LONG_URL = ("https://www.linkedin.com/in/annalisevandenberghelopez?utm_source=newsletter&utm_medium=email"
            "&utm_campaign=autumnoutreachcampaign2026&ref=" + "a1b2c3d4e5" * 8)
LAST_MONDAY = TODAY - timedelta(days=TODAY.weekday() + 7)  # the last finished week at NOON

#: What a page must not do at phone width, measured in the page itself.
MEASURE = """
const [minHeight, width] = [arguments[0], window.innerWidth];
const describe = (node, box) => {
  const el = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
  const text = (node.nodeType === Node.TEXT_NODE ? node.textContent : el.innerText || el.value || '')
    .trim().replace(/\\s+/g, ' ').slice(0, 40);
  return `<${el.tagName.toLowerCase()} class="${el.className}"> "${text}" `
    + `left=${Math.round(box.left)} right=${Math.round(box.right)} height=${Math.round(box.height)}`;
};
const shown = (box) => box.width > 0 && box.height > 0;
const outside = (box) => shown(box) && (box.left < -0.5 || box.right > width + 0.5);
// Elements, and the text inside them: a word can run out of its paragraph (or be clipped) while the
// paragraph itself stays inside the window.
const boxes = [...document.body.querySelectorAll('*')].map((el) => [el, el.getBoundingClientRect()]);
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const range = document.createRange();
  range.selectNodeContents(node);
  for (const box of range.getClientRects()) boxes.push([node, box]);
}
const buttons = [...document.querySelectorAll('button, .button, input[type=submit]')]
  .map((el) => [el, el.getBoundingClientRect()]).filter(([, box]) => shown(box));
return {
  innerWidth: width,
  clientWidth: document.documentElement.clientWidth,
  scrollWidth: document.documentElement.scrollWidth,
  sticking_out: boxes.filter(([, box]) => outside(box)).slice(0, 5).map(([node, box]) => describe(node, box)),
  buttons: buttons.length,
  short_buttons: buttons.filter(([, box]) => box.height < minHeight).map(([el, box]) => describe(el, box)),
};
"""


@pytest.fixture()
def pinned_clock() -> Iterator[None]:
    """Wednesday 25 November 2026 at noon, ticking (the server and the browser driver need time to pass)."""
    with time_machine.travel(NOON, tick=True):
        yield


@pytest.fixture()
def long_user(engine, pinned_clock) -> Iterator[uuid.UUID]:
    """A user whose name, address, leads, focus and summary are all as long as they can be; committed for
    real and removed with all their rows afterwards."""
    email = f"{uuid.uuid4().hex[:8]}.{EMAIL_NAME}"
    with unit_of_work(service=True) as session:
        user = make_user(session, email=email, name=LONG_NAME, timezone="Europe/London", streak_count=12,
                         last_action_date=TODAY - timedelta(days=1), created_at=JOINED)
        leads = [make_lead(session, user, name=name, url=f"{LONG_URL}{n}")
                 for n, name in enumerate((LONG_NAME, EMAIL_NAME, f"Ann {LONG_NAME}", f"Bo {EMAIL_NAME}"))]
        planned = [make_action(session, user, lead, action_type=ActionType.OUTREACH, due_date=TODAY)
                   for lead in leads[:3]]
        make_plan(session, user, planned, date=TODAY, free_minutes=200,
                  focus_statement=f"Warm up the leads from {LONG_URL} and {EMAIL_NAME}")
        waiting = make_action(session, user, leads[3], action_type=ActionType.FOLLOW_UP, due_date=TODAY,
                              state=ActionState.SENT)
        make_event(session, waiting, to_state=ActionState.SENT, from_state=ActionState.NEW,
                   at=NOON - timedelta(days=3))
        session.add(WeeklySummary(
            user_id=user.id, week_start_date=LAST_MONDAY, timezone=user.timezone, days_active=5, actions_completed=1234,
            replies=56,
            calls_booked=7, insight_text=f"Replies came fastest from {LONG_URL}",
            narrative_summary=f"{LONG_NAME} answered within a day; {EMAIL_NAME} booked a call.",
            next_week_focus=f"Follow up with {EMAIL_NAME}",
            win_post_draft=f"Seven calls booked this week. Read how: {LONG_URL}",
            insight_post_draft=f"What {LONG_NAME} taught me about follow-ups.",
        ))
        user_id = user.id
    with deleted_afterwards(user_id):
        yield user_id


def test_every_email_and_email_page_fits_a_phone_and_has_tappable_buttons(
    pinned_clock, live_server, long_user, browser, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    mail_digest(long_user)
    mail_summary(long_user, LAST_MONDAY)
    entries = {entry.subject.split(" ")[1]: entry.id for entry in get_backend().entries()}  # "next" / "week"
    assert entries.keys() == {"next", "week"}

    browser.set_window_size(PHONE_WIDTH, 800)
    # Phones draw scrollbars over the page; a desktop's classic scrollbar would steal 15 px of the 375.
    browser.execute_cdp_cmd("Emulation.setScrollbarsHidden", {"hidden": True})
    problems: list[str] = []

    def screenshot(name: str) -> None:
        """The whole page as a phone shows it: the window's width, every pixel of the height."""
        height = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]["height"]
        clip = {"x": 0, "y": 0, "width": PHONE_WIDTH, "height": height, "scale": 1}
        shot = browser.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True, "clip": clip})
        (tmp_path / f"layout-{name}.png").write_bytes(base64.b64decode(shot["data"]))

    def check(name: str, *, buttons: bool) -> None:
        screenshot(name)
        found: dict[str, Any] = browser.execute_script(MEASURE, MIN_TAP_HEIGHT)
        assert found["innerWidth"] == found["clientWidth"] == PHONE_WIDTH, f"not {PHONE_WIDTH} px wide: {found}"
        if found["scrollWidth"] > PHONE_WIDTH:
            problems.append(f"{name}: scrolls sideways ({found['scrollWidth']} px wide); sticking out: "
                            f"{found['sticking_out']}")
        elif found["sticking_out"]:
            problems.append(f"{name}: content is cut off at the right edge: {found['sticking_out']}")
        if buttons and not found["buttons"]:
            problems.append(f"{name}: no buttons found")
        if found["short_buttons"]:
            problems.append(f"{name}: buttons under {MIN_TAP_HEIGHT} px tall: {found['short_buttons']}")

    def words() -> str:
        """Every word on the page, shown or not (Selenium's ``.text`` leaves out what overflows)."""
        return " ".join(browser.execute_script("return document.body.textContent").split())

    def visit(name: str, url: str, *, buttons: bool) -> None:
        browser.get(url)
        check(name, buttons=buttons)

    def press(label: str, *, then_title: str) -> None:
        browser.find_element(By.XPATH, f"//button[normalize-space()={label!r}]").click()
        # The title, not an element: an element looked up while the page is being replaced can vanish mid-call.
        WebDriverWait(browser, 15).until(lambda driver: driver.title.startswith(then_title))

    visit("outbox", f"{live_server}/dev/outbox", buttons=False)
    visit("summary", f"{live_server}/dev/outbox/{entries['week']}", buttons=False)
    assert all(long in words() for long in (LONG_NAME, EMAIL_NAME, LONG_URL))
    visit("digest", f"{live_server}/dev/outbox/{entries['next']}", buttons=True)
    assert all(long in words() for long in (f"Ann {LONG_NAME}", f"Bo {EMAIL_NAME}", LONG_URL))  # planned, waiting
    done_url = browser.find_elements(By.LINK_TEXT, "Done")[0].get_attribute("href")
    preferences_url = browser.find_element(By.LINK_TEXT, "Email preferences").get_attribute("href")
    unsubscribe_url = browser.find_element(By.LINK_TEXT, "Unsubscribe").get_attribute("href")

    text = get_backend().read(entries["next"]).get_body(("plain",)).get_content()
    (plan_url,) = re.findall(r"\S+/today/\S+", text)
    visit("plan", plan_url, buttons=True)  # the text part's one link: the plan, each move with its number
    assert all(f"#{number} " in words() for number in (1, 2, 3))

    visit("confirm", done_url, buttons=True)
    assert f"Open {LONG_NAME}" in words()
    press("Mark done", then_title="Marked done")
    check("result", buttons=True)
    assert f"Ann {LONG_NAME}" in words() and f"Bo {EMAIL_NAME}" in words()  # still to do, waiting

    visit("preferences", preferences_url, buttons=True)
    assert EMAIL_NAME in words()
    visit("unsubscribe", unsubscribe_url, buttons=True)
    press("Unsubscribe", then_title="Unsubscribed")
    check("unsubscribed", buttons=False)  # an unsubscribe link cannot turn email back on
    visit("invalid-link", f"{live_server}/a/not-a-signed-token", buttons=False)

    assert not problems, f"at {PHONE_WIDTH} px (screenshots in {tmp_path}):\n" + "\n".join(problems)
