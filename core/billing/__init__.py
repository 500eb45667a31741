"""Billing with Stripe: a 14-day trial for every new user, Checkout to subscribe, the Billing Portal
to manage, and webhooks that keep our mirror of Stripe's state current. Who has service is decided
in core.access, from that mirror.

* ``stripe_api``  the few Stripe calls, returning plain dicts
* ``trial``       the trial every new user starts with, in Stripe (and why there)
* ``jobs``        the trial job and the hourly sweep
* ``sessions``    Checkout and Billing Portal sessions
* ``webhooks``    verify, store once, apply
* ``mirror``      Stripe's customers and subscriptions written into our tables
* ``notices``     the trial reminder, payment-failed and service-ended notices, each sent once
* ``status``      what every interface shows of a user's billing

With billing off (no ``STRIPE_SECRET_KEY``), none of it runs and everyone has full service.
"""
