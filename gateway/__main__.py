"""``python -m gateway``: serve the gateway with uvicorn on GATEWAY_HOST:GATEWAY_PORT.

uvicorn's own access log is off (it would log query strings); the gateway writes one
structured access line per request itself, and uvicorn's logging config is left alone so
that ``configure_logging`` applies.
"""

from __future__ import annotations

import uvicorn

from gateway.settings import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    uvicorn.run(
        "gateway.app:app",
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_config=None,
        proxy_headers=False,  # X-Forwarded-For is read by the gateway, from trusted proxies only
    )


if __name__ == "__main__":
    main()
