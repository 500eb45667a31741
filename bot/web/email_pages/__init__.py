"""The pages behind email links, in one place: the routes (:mod:`.routes`), what the pages say and
show (:mod:`.pages`), and their templates beside them (``email_pages/*.html``, found from the web
app's one template root, ``bot/web``). The billing and calendar pages use its ``base`` and
``message`` templates too."""
