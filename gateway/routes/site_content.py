"""Support contacts, Partner Zone and Resources: what the operator publishes (tenancy keeps it)."""

from __future__ import annotations

from fastapi import APIRouter

from contracts.site_content import SiteContent, SiteContentView
from gateway.auth import Authorised, Operator
from gateway.deps import Rpc

router = APIRouter(tags=["site content"])


@router.get("/site-content", response_model=SiteContentView,
            summary="Support contacts, Partner Zone documents and links, and Resources",
            description="`version` 0 is the portal's example content, before an operator first changed it.")
def get_site_content(principal: Authorised, rpc: Rpc) -> SiteContentView:
    return rpc.tenancy.get_site_content()


@router.put("/operator/site-content", response_model=SiteContentView,
            summary="Replace the published content (operators); the change is announced and audited")
def update_site_content(body: SiteContent, operator: Operator, rpc: Rpc) -> SiteContentView:
    return rpc.tenancy.update_site_content(body.to_wire())
