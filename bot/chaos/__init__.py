"""The chaos run (``nbm chaos``): the whole morning pipeline on a fast clock, with things breaking.

A throwaway PostgreSQL database and a redis-server of the run's own carry real ``nbm worker`` and
``nbm web`` processes, while this process ticks the real scheduler (``core.jobs.tick.tick``) through
``--days`` simulated days and breaks things at random (seeded): worker processes SIGKILLed mid-job,
a whole ``nbm worker`` killed and started again, Redis restarted (losing its queue), PostgreSQL
connections terminated, an SMTP sink refusing with 4xx and 5xx, a fake Slack Web API answering 429
(with Retry-After) and 5xx, sometimes after it has posted the message. Meanwhile simulated people
press Done / Sent / Replied on the plan DMs they received (signed requests to the real web app),
some twice. Once the faults stop and the work drains, the sinks and the database are compared with
what the documented rule (README "Catch-up", ``core/jobs/schedule.py``) says each user was owed.

Modules, one concern each:

* :mod:`bot.chaos.options` what a run is asked to do, and how hard to break things.
* :mod:`bot.chaos.database`, :mod:`bot.chaos.redis_server`, :mod:`bot.chaos.processes`: the
  throwaway stack and the product's processes on it.
* :mod:`bot.chaos.smtp_sink`, :mod:`bot.chaos.fake_slack`: where deliveries land, and the refusals.
* :mod:`bot.chaos.population`: the users (timezones, work days, delivery times, channels, leads).
* :mod:`bot.chaos.rule`: the documented rule, written again independently: what each user is owed.
* :mod:`bot.chaos.clock`, :mod:`bot.chaos.faults`, :mod:`bot.chaos.presses`: the fast clock, the
  faults, the people pressing buttons.
* :mod:`bot.chaos.accounting`: owed, sent, duplicated, missed; presses applied once or not.
* :mod:`bot.chaos.run`: the run from start to report.
"""
