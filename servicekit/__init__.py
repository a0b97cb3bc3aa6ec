"""The service kit: what every service needs (settings, database, outbox, logging, RPC).

It is not a service and holds no contracts. Importing it prepares the process for
eventlet: psycopg 3 must use a select()-based wait function, or every query blocks the
whole hub (docs/decisions/0002-psycopg3-under-eventlet.md).
"""

import os

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
