"""HTTP routes. ``health`` sits at the root; capability routers go in ``API_ROUTERS``
and are mounted under ``/api/v1`` by :func:`gateway.app.create_app`."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.routes import (
    accounts,
    audit,
    auth,
    billing,
    dashboard,
    ingest,
    integrations,
    learning,
    notifications,
    operator,
    operator_billing,
    operator_tenancy,
    partners,
    ping,
    security,
    settings,
    site_content,
    users,
)

API_PREFIX = "/api/v1"

API_ROUTERS: tuple[APIRouter, ...] = (auth.router, security.router, users.router, operator.router,
                                      partners.router, accounts.router, settings.router, ingest.router,
                                      operator_tenancy.router, audit.router, billing.router,
                                      operator_billing.router, notifications.router, integrations.router,
                                      dashboard.router, ping.router, learning.router, site_content.router)
"""Routers of the v1 API (paths relative to ``/api/v1``), in the order they are mounted:
import a capability's module here and add its ``router``."""
