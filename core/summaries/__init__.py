"""Weekly summaries: facts from the event log, insight generators, and the content drafts.

* :mod:`core.summaries.facts` — the week's figures, each defined once;
* :mod:`core.summaries.service` — the week's facts from the event log and the stored summary;
* :mod:`core.summaries.insights` — the generator interface and the built-in generator;
* :mod:`core.summaries.llm` — the optional OpenAI-compatible generator and the configured choice;
* :mod:`core.summaries.content` — saving drafts, marking them posted or archived.
"""
