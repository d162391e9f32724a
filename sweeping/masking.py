"""A storage URL's password kept out of sight: :func:`masked` for printing the URL, :func:`scrub` for
any text that may quote it (an error message, the command line W&B records)."""

from __future__ import annotations

STORAGE_ENV = "FFNN_SWEEP_STORAGE"  # the storage URL without it on the command line (ps, shell history)
MASK = "***"


def masked(url: str) -> str:
    """``url`` as it may be printed or logged: the password (``user:PASSWORD@`` and ``password=`` in
    the query) replaced by ``***``."""
    from urllib.parse import parse_qsl, urlencode, urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    text = url
    credentials, at, host = parts.netloc.rpartition("@")
    if at and ":" in credentials:
        user = credentials.partition(":")[0]
        text = text.replace(parts.netloc, f"{user}:{MASK}@{host}", 1)
    if "password" in parts.query.lower():
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = urlencode([(k, MASK if k.lower() == "password" else v) for k, v in pairs], safe="*/")
        text = text.replace(parts.query, query, 1)
    return text


def secrets_of(url: str) -> list[str]:
    """The password(s) in ``url``, to be scrubbed from any text that quotes it."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    found = [parts.password] if parts.password else []
    found += [v for k, v in parse_qsl(parts.query) if k.lower() == "password" and v]
    return [s for secret in found for s in {secret, unquote(secret)}]


def scrub(text: str, url: str) -> str:
    """``text`` with every password of ``url`` (and the URL itself) replaced by its masked form."""
    text = text.replace(url, masked(url))
    for secret in secrets_of(url):
        text = text.replace(secret, MASK)
    return text
