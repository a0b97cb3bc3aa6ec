"""``python -m testprocessor``: serve the hosted card form on PROCESSOR_HOST:PROCESSOR_PORT.

No access log: a processor's page must not write what it was sent.
"""

from __future__ import annotations

import uvicorn

from testprocessor.app import create_app
from testprocessor.settings import ProcessorSettings


def main() -> None:
    settings = ProcessorSettings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, access_log=False,
                proxy_headers=False)


if __name__ == "__main__":
    main()
