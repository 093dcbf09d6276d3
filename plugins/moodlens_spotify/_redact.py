"""No token reaches a log: a logging.Filter on every logger that sees Spotify's traffic.

At DEBUG, spotipy logs each request's headers (``Authorization: Bearer ...``) and the
token requests' bodies (``refresh_token``, ``code``, ``code_verifier``); the login's
callback line carries the authorization code. The filter rewrites those records
before any handler sees them, so ``moodlens spotify -v`` and an app's own DEBUG
logging stay useful and safe. It is attached when the plugin first builds or
wraps a spotipy client (nothing happens at import).
"""

from __future__ import annotations

import logging
import re

__all__ = ["REDACTED", "TokenRedactor", "protect_logs", "redact"]

REDACTED = "[redacted]"
_SECRETS = r"access_token|refresh_token|code_verifier|code|client_secret|id_token"
_PATTERNS = (
    # Authorization header values, in a dict repr or a raw header line
    (re.compile(r"\b(Bearer|Basic)\s+[^\s'\",}]+", re.IGNORECASE), rf"\1 {REDACTED}"),
    # 'refresh_token': 'x' (dict repr) and "refresh_token": "x" (JSON)
    (
        re.compile(rf"""(['"])({_SECRETS})\1(\s*:\s*)(['"])[^'"]*\4"""),
        rf"\1\2\1\3\4{REDACTED}\4",
    ),
    # refresh_token=x (form bodies and query strings); not country_code=SE
    (re.compile(rf"(?<![\w-])({_SECRETS})=[^&\s'\"]+"), rf"\1={REDACTED}"),
)

# Where the tokens can show up: spotipy's modules, urllib3 and requests, and ours.
LOGGERS = (
    "spotipy",
    "spotipy.client",
    "spotipy.oauth2",
    "spotipy.cache_handler",
    "spotipy.util",
    "urllib3",
    "urllib3.connectionpool",
    "requests",
    "moodlens_spotify",
    "moodlens_spotify._api",
    "moodlens_spotify._auth",
    "moodlens_spotify._cli",
    "moodlens_spotify._planner",
    "moodlens_spotify._plugin",
)


def redact(text: str) -> str:
    """``text`` with bearer tokens, refresh tokens, codes and verifiers replaced."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class TokenRedactor(logging.Filter):
    """Rewrites a record's message with its secrets redacted; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's business, not ours
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_REDACTOR = TokenRedactor()


def protect_logs(*handlers: logging.Handler) -> None:
    """Attaches the redactor to the loggers in LOGGERS and to ``handlers``; safe to repeat.

    A filter on a logger sees only the records logged on that very logger, so each
    module's logger gets it; a handler's filter sees every record it handles, so the
    CLI adds its own handlers too.
    """
    for target in [*(logging.getLogger(name) for name in LOGGERS), *handlers]:
        if _REDACTOR not in target.filters:
            target.addFilter(_REDACTOR)
