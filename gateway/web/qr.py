"""The QR code of a TOTP setup, as inline SVG (nothing leaves the server to draw it)."""

from __future__ import annotations

import io

import segno
from markupsafe import Markup


def qr_svg(data: str) -> Markup:
    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False, svgns=True,
                                     title="QR code for your authenticator app")
    return Markup(buffer.getvalue().decode())  # noqa: S704 - segno's own SVG, the data is encoded in it
