"""The portal's published content: Support contacts, Partner Zone and Resources.

The operator (the vendor's Support) sets it; everyone signed in reads it. Tenancy keeps it
(it owns the operator's tenant) and announces each change as ``site_content_changed``.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import AwareDatetime, EmailStr, Field, field_validator

from contracts.base import SafeText, WireModel

Label = Annotated[SafeText, Field(min_length=1, max_length=120)]


class SupportPhone(WireModel):
    region: Label = Field(description="where the number is for, e.g. 'USA'")
    phone: Annotated[SafeText, Field(min_length=3, max_length=40, pattern=r"^\+?[0-9 ()./-]+$")]


class SupportEmail(WireModel):
    purpose: Label = Field(description="what to write about, e.g. 'Technical support'")
    email: Annotated[EmailStr, Field(max_length=320)]


class PublishedLink(WireModel):
    title: Label
    url: Annotated[SafeText, Field(min_length=8, max_length=2000, description="an http(s) address")]
    description: Annotated[SafeText, Field(max_length=300)] | None = None

    @field_validator("url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        if not value.lower().startswith(("https://", "http://")) or " " in value:
            raise ValueError("must be an http(s) address without spaces")
        return value


class SiteContent(WireModel):
    """Everything an operator publishes; a change replaces the whole document."""

    support_phones: list[SupportPhone] = Field(default_factory=list, max_length=20)
    support_emails: list[SupportEmail] = Field(default_factory=list, max_length=20)
    support_hours: Annotated[SafeText, Field(max_length=300)] | None = None
    partner_zone: list[PublishedLink] = Field(default_factory=list, max_length=50,
                                              description="documents and links for partners and distributors")
    resources: list[PublishedLink] = Field(default_factory=list, max_length=50,
                                           description="About, Knowledge Base, Security, Privacy, ...")


class SiteContentView(SiteContent):
    version: int = Field(ge=0, description="0: the portal's defaults, never changed")
    updated_at: AwareDatetime | None = None


class SiteContentChanged(WireModel):
    """``site_content_changed``: which sections changed, and the new version."""

    operator_id: uuid.UUID | None = Field(default=None, description="the operator user; none for the system")
    version: int
    sections: list[str]
