"""The names of people (users and leads): one line of text that a mail header and a log line can carry.

The rule: a name is one line of 1 to :data:`MAX_NAME` characters, with no control character (line
feed, carriage return, tab, escape, DEL, NEL…), no line or paragraph separator (U+2028, U+2029) and
no lone surrogate, and with its spaces folded: each run of spaces of any kind (two spaces, a
non-breaking space pasted from LinkedIn, a thin space) is one plain space, and none starts or ends
it. A user's name becomes the display name of the ``To:`` header of every email, and
Python refuses to build a header holding a line break, so a name with one meant that user could never
be mailed again; the same characters let a name start a line of its own in a log. No person's name
needs them, while every other character (accents, any script, emoji, joiners) is kept.

Where a name enters decides what happens to a name breaking the rule:

* **typed by the person using NextBestMove** (``nbm users add``, ``nbm leads add``, a plain
  ``name,url,notes`` CSV, ``/nbm add``, the add-lead modal): refused by :func:`validate_name` with a
  message saying what is accepted, and nothing is saved; they can type it again.
* **written by someone else elsewhere** (a Slack profile on first contact, the names in a LinkedIn
  connections export): cleaned by :func:`clean_name`. The person in front of us did not type it and
  cannot fix it, so refusing would only lock them out.

Spaces are folded wherever a name enters, never refused: "Ann  Lee" is plainly Ann Lee. Looking a lead
up folds the name asked for and each stored name with the same :data:`SPACE_RUN` (core.leads), so
``/nbm snooze Ann Lee`` finds "Ann  Lee" stored before names were folded, and every channel (Slack,
the CLI, a CSV import) agrees on which lead a name means.
"""

from __future__ import annotations

import re

from core.errors import ValidationError

MAX_NAME = 200
ACCEPTED = f"a name is one line of 1 to {MAX_NAME} letters, digits, spaces, punctuation marks or symbols, in any script"

#: What no single line of text may hold: every control character (Unicode category Cc: U+0000–U+001F
#: and U+007F–U+009F), the line and paragraph separators (Zl, Zp) and lone surrogates (Cs, which
#: cannot even be encoded). Log records are escaped with the same class (core.logs).
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")

#: A run of the characters Python's ``str.split()`` splits on (Unicode White_Space, with U+001C–U+001F),
#: spelt with ``\\uXXXX`` escapes that Python's ``re`` and PostgreSQL's regular expressions both read,
#: so a name is folded the same way in Python (:func:`fold_spaces`) and in SQL (a lookup in core.leads).
SPACE_RUN = (r"[\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")
_SPACE_RUN = re.compile(SPACE_RUN)


def fold_spaces(text: str) -> str:
    """``text`` with each run of spaces of any kind (:data:`SPACE_RUN`) as one plain space, none at its ends."""
    return _SPACE_RUN.sub(" ", text).strip(" ")


def clean_name(name: str) -> str:
    """``name`` made to follow the rule: each run of unsafe characters (with the spaces around it)
    becomes one space, spaces are folded, and the result is cut to :data:`MAX_NAME` characters.
    ``""`` when nothing is left, for the caller to fall back on something else."""
    return fold_spaces(UNSAFE.sub(" ", name))[:MAX_NAME].rstrip()


def validate_name(name: str) -> str:
    """``name`` with its spaces folded, or a refusal saying what a name may be. A line break or a tab
    is refused before spaces are folded, though both are spaces to ``str.split()``: folding them would
    accept what the rule refuses."""
    typed, folded = name.strip(), fold_spaces(name)
    if not typed:  # empty, or only spaces: counting its characters would only puzzle the person
        raise ValidationError(f"the name is blank; {ACCEPTED}")
    if len(folded) > MAX_NAME:
        raise ValidationError(f"a name must have between 1 and {MAX_NAME} characters; this one has {len(folded):,}")
    if UNSAFE.search(typed):
        shown = repr(typed[:60] + ("…" if len(typed) > 60 else ""))
        raise ValidationError(f"{shown} contains a line break, a tab or another control character; {ACCEPTED}")
    return folded


def first_name(name: str, *, fallback: str) -> str:
    """How a message addresses a person: the first word of their name, or ``fallback`` (the word
    that reads right in that message's sentence) when they gave none."""
    return name.split()[0] if name.strip() else fallback
