"""The pages a person reads when a request goes wrong outside a route's own answers.

Without them Flask answers a wrong address, a wrong method or a crash with its bare default page,
headers and all. A person meets these by ordinary means: the address bar still holds a form's
address after the form was sent, and opening it again is a GET where only a POST is allowed. So
each says what happened and where to go from there, in the pages' own look, with the headers of a
page reached through a signed link (the address may hold a token: :func:`bot.web.private_pages.private`).
A crash is logged by Flask before its page is drawn; the page says only that it was.
"""

from __future__ import annotations

from flask import Flask, make_response, render_template
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from bot.web.private_pages import private

#: What each status says: the page's title and its sentence.
SAID = {
    404: ("There is nothing at this address",
          "It may have been copied incompletely. Use the links in your latest NextBestMove email."),
    405: ("This address is not for opening again",
          "It is where a form on one of our pages was sent. Go back to that page, or open the links in your "
          "latest NextBestMove email."),
    500: ("Something went wrong on our side",
          "It has been logged. Please try again in a moment."),
}


def register(app: Flask) -> None:
    for status in SAID:
        app.register_error_handler(status, _page)


def _page(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    title, message = SAID[status]
    response = make_response(render_template("email_pages/message.html", title=title, message=message), status)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:  # HTTP's rule: say what it accepts
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return private(response)
