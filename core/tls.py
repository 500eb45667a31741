"""The TLS context outbound connections verify servers with, made once per process.

Making a context is cheap; reading the system's certificate store into it is not: about 16 ms of
CPU with OpenSSL 3 (measured on a 2-core machine), several times a whole button press. Left to
themselves, libraries make one per connection: slack_sdk's calls go through ``urllib``, whose
HTTPS connections each build a default context, so every Slack Web API call paid it (a press's
``chat.update``, every morning DM). One context holds no connection's state, so it serves every
thread, and every process forked after it was made.

Made on first use, not at import, so that a command that never speaks TLS never pays for it. It
reads ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` then, as OpenSSL does.
"""

from __future__ import annotations

import ssl
from functools import cache


@cache
def client_context() -> ssl.SSLContext:
    """The default client context (the system's certificate store, host names checked), shared."""
    return ssl.create_default_context()
