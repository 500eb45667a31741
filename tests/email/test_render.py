"""The digest and the weekly summary as a reader sees them: words, links, buttons; not markup."""

from __future__ import annotations

import re
import uuid
from datetime import date
from html.parser import HTMLParser

from bot.email.links import EmailLinks, PlanLink
from bot.email.render import render_digest, render_weekly_summary
from core.actions import marks
from core.models import ActionState, ActionType, CapacityLevel, WeeklySummary
from core.planner.view import PlanItem, PlanView, WaitingItem

LINKS = EmailLinks(base_url="https://nbm.example.com", secret_key="k" * 32)
USER = uuid.uuid4()
DAY = date(2025, 11, 25)  # a Tuesday, as in the product's example subject


def item(position: int, title: str, *, minutes: int = 5, lead: str | None = None,
         state: ActionState = ActionState.NEW) -> PlanItem:
    return PlanItem(
        number=position + 1, action_id=uuid.uuid4(), action_type=ActionType.FOLLOW_UP, state=state, title=title,
        lead_id=uuid.uuid4() if lead else None, lead_name=lead,
        lead_url=f"https://www.linkedin.com/in/{lead.lower().replace(' ', '-')}" if lead else None,
        is_fast_win=position == 0, minutes=minutes, due_date=DAY,
    )


def view(items: tuple[PlanItem, ...] = (), waiting: tuple[WaitingItem, ...] = (), **fields: object) -> PlanView:
    values: dict = dict(user_id=USER, user_name="Ann Lee", date=DAY, today=DAY, capacity=CapacityLevel.STANDARD,
                        free_minutes=200, focus=None, streak=0, items=items, waiting=waiting)
    values.update(fields)
    return PlanView(**values)


class Reader(HTMLParser):
    """What a person reading the HTML sees: the text, and each link as (text, href)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.text: list[str] = []
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._link_text: list[str] = []
        self._hidden = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        style = dict(attrs).get("style") or ""
        if tag in ("style", "title") or "display: none" in style:
            self._hidden += 1
        if tag == "a":
            self._href, self._link_text = dict(attrs).get("href"), []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title") or (tag == "div" and self._hidden):
            self._hidden = max(0, self._hidden - 1)
        if tag == "a" and self._href is not None:
            self.links.append((" ".join("".join(self._link_text).split()), self._href))
            self._href = None

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.text.append(data)
            if self._href is not None:
                self._link_text.append(data)

    @property
    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())

    def hrefs(self, label: str) -> list[str]:
        return [href for text, href in self.links if text == label]


FIVE = (item(0, "Reply to Ann Lee", minutes=5, lead="Ann Lee"),
        item(1, "Follow up with Bo Chen", minutes=5, lead="Bo Chen"),
        item(2, "Reach out to Cy Dee", minutes=10, lead="Cy Dee"),
        item(3, "Reach out to Di Eve", minutes=10, lead="Di Eve"),
        item(4, "Check in with Ed Fox", minutes=5, lead="Ed Fox"))


def test_subject_counts_the_actions_and_minutes_left_in_the_product_format() -> None:
    def subject(items: tuple[PlanItem, ...]) -> str:
        return render_digest(view(items), links=LINKS).subject

    assert subject(FIVE) == "Your next best moves for Tue 25 Nov — 5 actions, ~35 min"
    assert subject(FIVE[:1]) == "Your next best moves for Tue 25 Nov — 1 action, ~5 min"
    done = tuple(item(i, f"Task {i}", state=ActionState.DONE) for i in range(2))
    assert subject(done + FIVE[2:3]) == "Your next best moves for Tue 25 Nov — 1 of 3 actions left, ~10 min"
    assert subject(done) == "Your next best moves for Tue 25 Nov — all 2 actions acted on"
    assert subject(done[:1]) == "Your next best moves for Tue 25 Nov — 1 action, acted on"


def test_an_empty_plan_gets_a_friendly_subject_and_body() -> None:
    rendered = render_digest(view(()), links=LINKS)
    assert rendered.subject == "Your next best moves for Tue 25 Nov — nothing due, enjoy a clear day"
    reader = Reader(rendered.html)
    assert "Nothing is due for Tue 25 Nov." in reader.visible
    assert "Nothing is due for Tue 25 Nov." in rendered.text
    assert not [href for _, href in reader.links if "/a/" in href]


def test_each_action_shows_its_name_lead_link_and_four_signed_buttons() -> None:
    rendered = render_digest(view(FIVE), links=LINKS)
    reader = Reader(rendered.html)
    for entry in FIVE:
        assert entry.title in reader.visible
        assert reader.hrefs(f"Open {entry.lead_name} →") == [entry.lead_url]
    for label, transition in (("Done", marks.DONE), ("Sent", marks.SENT),
                              ("Replied", marks.REPLIED), ("Snooze a week", marks.SNOOZE)):
        hrefs = reader.hrefs(label)
        assert len(hrefs) == 5
        read = [LINKS.read_action(href.removeprefix("https://nbm.example.com/a/")) for href in hrefs]
        assert [link.action_id for link in read] == [entry.action_id for entry in FIVE]
        assert {link.mark for link in read} == {transition}
        assert {link.user_id for link in read} == {USER}


def test_the_fast_win_is_marked_and_the_streak_and_focus_are_shown() -> None:
    rendered = render_digest(view(FIVE, streak=4, focus="Close two pilots before December"), links=LINKS)
    visible = Reader(rendered.html).visible
    assert visible.count("Fast Win") == 1
    assert visible.index("Fast Win") < visible.index("Reply to Ann Lee") < visible.index("Follow up with Bo Chen")
    assert "4-day streak" in visible
    assert "This week's focus: Close two pilots before December" in visible
    assert "[Fast Win] Reply to Ann Lee" in rendered.text
    assert "You are on a 4-day streak. One action done today keeps it going." in rendered.text
    assert "This week's focus: Close two pilots before December" in rendered.text


def test_waiting_for_a_reply_lists_sent_actions_with_a_replied_link() -> None:
    waiting = WaitingItem(action_id=uuid.uuid4(), title="Follow up with Gus Hill", lead_name="Gus Hill",
                          lead_url="https://gus.example.com", sent_on=date(2025, 11, 20))
    rendered = render_digest(view(FIVE[:1], (waiting,)), links=LINKS)
    reader = Reader(rendered.html)
    assert "Waiting for a reply" in reader.visible
    assert "Follow up with Gus Hill sent Thu 20 Nov" in reader.visible
    replied = [LINKS.read_action(h.split("/a/")[1]) for h in reader.hrefs("Replied")]
    assert (waiting.action_id, marks.REPLIED) in [(link.action_id, link.mark) for link in replied]
    assert "Waiting for a reply" in rendered.text and "Follow up with Gus Hill (sent Thu 20 Nov)" in rendered.text


def test_settled_actions_are_listed_without_buttons() -> None:
    settled = item(0, "Reach out to Ann Lee", lead="Ann Lee", state=ActionState.DONE)
    reader = Reader(render_digest(view((settled, *FIVE[1:2])), links=LINKS).html)
    assert "✓ Done" in reader.visible
    done_actions = {LINKS.read_action(h.split("/a/")[1]).action_id for h in reader.hrefs("Done")}
    assert done_actions == {FIVE[1].action_id}


def test_names_are_escaped_not_obeyed_in_html_and_kept_verbatim_in_text() -> None:
    evil = item(0, "Reach out to <script>alert(1)</script> & Co", lead="<b>Ann</b>")
    rendered = render_digest(view((evil,)), links=LINKS)
    assert "<script>" not in rendered.html and "<b>Ann</b>" not in rendered.html
    assert "Reach out to <script>alert(1)</script> & Co" in Reader(rendered.html).visible
    assert "Reach out to <script>alert(1)</script> & Co" in rendered.text


def test_css_is_inlined_for_gmail_and_outlook() -> None:
    html = render_digest(view(FIVE), links=LINKS).html
    button = re.search(r'<a [^>]*href="https://nbm.example.com/a/[^"]+"[^>]*>', html).group(0)
    assert "background-color: #15803d" in button  # Done: the primary green, as in Slack
    style_blocks = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert all(block.strip().startswith("@media") for block in style_blocks)


def test_the_footer_links_to_preferences_and_unsubscribe_signed_for_the_user() -> None:
    rendered = render_digest(view(FIVE), links=LINKS)
    reader = Reader(rendered.html)
    (preferences,) = reader.hrefs("Email preferences")
    (unsubscribe,) = reader.hrefs("Unsubscribe")
    assert LINKS.read_preferences(preferences.split("/preferences/")[1]) == USER
    assert LINKS.read_unsubscribe(unsubscribe.split("/unsubscribe/")[1]) == USER
    assert f"Email preferences: {preferences}" in rendered.text
    assert f"Unsubscribe: {unsubscribe}" in rendered.text


def test_the_text_part_is_readable_on_its_own() -> None:
    text = render_digest(view(FIVE, streak=1), links=LINKS).text
    assert "Good morning, Ann." in text
    assert "5 actions, about 35 min (3 h 20 min free in your calendar on Tue 25 Nov)" in text
    assert "1. [Fast Win] Reply to Ann Lee (~5 min)" in text
    assert "   Open Ann Lee: https://www.linkedin.com/in/ann-lee" in text
    assert "You are on a 1-day streak." in text
    assert "<" not in text.replace("<script>", "")


def test_the_text_part_has_one_link_to_todays_plan_not_four_per_action_and_a_signature_delimiter() -> None:
    """In a terminal: no wall of signed URLs, and a footer the mail client recognises as a signature."""
    text = render_digest(view(FIVE), links=LINKS).text
    ours = re.findall(r"https://nbm\.example\.com/\S+", text)
    assert [url.split("/")[3] for url in ours] == ["today", "preferences", "unsubscribe"]
    assert LINKS.read_plan(ours[0].rsplit("/", 1)[1]) == PlanLink(USER, DAY)
    assert f"Today's plan, with a button for each move:\n{ours[0]}\n" in text
    lines = text.splitlines()
    assert lines.count("-- ") == 1  # dash, dash, space: RFC 3676's signature delimiter
    assert lines[lines.index("-- ") + 1:] == [
        "You get this email because email delivery is on in your NextBestMove settings.",
        f"Email preferences: {ours[1]}", f"Unsubscribe: {ours[2]}"]


def test_a_text_part_with_nothing_to_press_has_no_link_to_todays_plan() -> None:
    done = tuple(item(i, f"Task {i}", state=ActionState.DONE) for i in range(2))
    for rendered in (render_digest(view(()), links=LINKS), render_digest(view(done), links=LINKS)):
        assert "/today/" not in rendered.text and "\n-- \n" in rendered.text


def test_weekly_summary_shows_numbers_insight_focus_and_drafts() -> None:
    summary = WeeklySummary(
        user_id=USER, week_start_date=date(2025, 11, 17), days_active=4, actions_completed=12, replies=1,
        calls_booked=2, insight_text="Replies came fastest to Tuesday follow-ups.",
        narrative_summary="A steady week: four active days and twelve actions.",
        next_week_focus="Book two discovery calls", win_post_draft="Twelve follow-ups, two calls booked.",
        insight_post_draft=None,
    )
    rendered = render_weekly_summary(summary, user_name="Ann Lee", today=date(2025, 11, 24), links=LINKS)
    assert rendered.subject == "Your week of 17–23 Nov — 12 actions done, 1 reply"
    visible = Reader(rendered.html).visible
    for words in ("4 days active", "12 actions done", "1 reply", "2 calls booked",
                  "Replies came fastest to Tuesday follow-ups.", "Book two discovery calls",
                  "Twelve follow-ups, two calls booked."):
        assert words in visible
    assert "- 4 days active" in rendered.text and "- 2 calls booked" in rendered.text
    assert "Ready-to-post drafts" in rendered.text and "A post about what you learned" not in rendered.text
    assert "\n-- \nYou get this email because" in rendered.text
    assert Reader(rendered.html).hrefs("Unsubscribe")
