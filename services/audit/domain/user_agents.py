"""A short browser name from a User-Agent header, for descriptions ("… (OK) Chrome from ip …").

Pure and deliberately small: the families a portal user has, in the order that tells them
apart (Edge and Opera also say "Chrome", Chrome also says "Safari").
"""

from __future__ import annotations

import re

UNKNOWN = "unknown browser"

# (marker in the header, name); the first marker found wins.
FAMILIES: tuple[tuple[str, str], ...] = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("Opera", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("YaBrowser/", "Yandex Browser"),
    ("Vivaldi/", "Vivaldi"),
    ("FxiOS/", "Firefox"),
    ("Firefox/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Trident/", "Internet Explorer"),
    ("MSIE ", "Internet Explorer"),
    ("Safari/", "Safari"),
)
# A client that names itself first, e.g. "curl/8.5.0", "python-requests/2.32", "e2e-tests".
PRODUCT = re.compile(r"^([A-Za-z][A-Za-z0-9._-]{0,39})(?:/|\s|$)")


def browser_name(user_agent: str | None) -> str:
    if not user_agent or not user_agent.strip():
        return UNKNOWN
    for marker, name in FAMILIES:
        if marker in user_agent:
            return name
    match = PRODUCT.match(user_agent.strip())
    if match and match.group(1) != "Mozilla":
        return match.group(1)
    return UNKNOWN
