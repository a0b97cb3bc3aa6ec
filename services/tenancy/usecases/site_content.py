"""Support contacts, Partner Zone and Resources: read by anyone signed in, set by an operator."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from contracts.errors import Conflict
from contracts.events import TenancyEvent
from contracts.site_content import SiteContent, SiteContentChanged, SiteContentView
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from services.tenancy.adapters.models import SiteContentRow
from services.tenancy.domain.site_content import DEFAULT_SITE_CONTENT, changed_sections
from services.tenancy.usecases.access import require_operator, scope_for

ROW_ID = 1


def _view(row: SiteContentRow | None) -> SiteContentView:
    if row is None:
        return SiteContentView(**DEFAULT_SITE_CONTENT.model_dump(), version=0)
    return SiteContentView(**SiteContent.from_wire(row.document).model_dump(), version=row.version,
                           updated_at=row.updated_at)


def get_site_content(uow: UnitOfWork, ctx: CallContext) -> SiteContentView:
    scope_for(uow, ctx)  # anyone signed in (or the system)
    view = _view(uow.session.get(SiteContentRow, ROW_ID))
    uow.rollback()
    return view


def update_site_content(uow: UnitOfWork, ctx: CallContext, content: SiteContent,
                        now: datetime | None = None) -> SiteContentView:
    """Replace the document; a change is announced with the sections it touched (none: nothing)."""
    require_operator(uow, ctx)
    row = uow.session.get(SiteContentRow, ROW_ID, with_for_update=True)
    before = _view(row)
    sections = changed_sections(before, content)
    if not sections:
        uow.rollback()
        return before
    when = now or datetime.now(UTC)
    if row is None:
        row = SiteContentRow(id=ROW_ID, document=content.to_wire(), version=1, updated_at=when,
                             updated_by=ctx.caller.user_id)
        uow.session.add(row)
    else:
        row.document, row.version, row.updated_at = content.to_wire(), row.version + 1, when
        row.updated_by = ctx.caller.user_id
    uow.emit(TenancyEvent.SITE_CONTENT_CHANGED,
             SiteContentChanged(operator_id=ctx.caller.user_id, version=row.version, sections=sections).to_wire(),
             tenant_id=ctx.caller.tenant_id)
    try:
        uow.commit()
    except IntegrityError:  # another operator's first change won the race
        uow.rollback()
        raise Conflict("the site content changed meanwhile; reload and try again") from None
    return _view(row)
