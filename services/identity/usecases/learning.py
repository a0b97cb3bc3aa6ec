"""The learning hub: the course catalogue and each user's progress in it."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from contracts.errors import NotFound
from contracts.learning import CourseList, CourseProgressRequest, CourseView
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from servicekit.text_search import contains_text
from services.identity.adapters.models import Course, CourseProgress
from services.identity.usecases.authentication import utc_now
from services.identity.usecases.users import acting_user


def _view(course: Course, progress: CourseProgress | None) -> CourseView:
    return CourseView(
        id=course.id, slug=course.slug, title=course.title, summary=course.summary, category=course.category,
        duration_minutes=course.duration_minutes, progress_percent=progress.percent if progress else 0,
        completed_at=progress.completed_at if progress else None, updated_at=progress.updated_at if progress else None,
    )


def list_courses(uow: UnitOfWork, ctx: CallContext, search: str | None = None) -> CourseList:
    """The courses whose title, summary or category contain ``search`` (every course without
    it), in catalogue order, with the calling user's progress and a summary of all of it."""
    user = acting_user(uow, ctx)
    rows = uow.session.execute(
        sa.select(Course, CourseProgress)
        .outerjoin(CourseProgress, sa.and_(CourseProgress.course_id == Course.id, CourseProgress.user_id == user.id))
        .order_by(Course.position, Course.title)
    ).all()
    views = [_view(course, progress) for course, progress in rows]
    kept = views
    if search:
        wanted = {row.id for row in uow.session.execute(
            sa.select(Course.id).where(contains_text(search, Course.title, Course.summary, Course.category)))}
        kept = [view for view in views if view.id in wanted]
    return CourseList(items=kept, total=len(views),
                      started=sum(1 for v in views if 0 < v.progress_percent < 100),
                      completed=sum(1 for v in views if v.progress_percent == 100))


def record_course_progress(uow: UnitOfWork, ctx: CallContext, course_id: uuid.UUID,
                           request: CourseProgressRequest) -> CourseView:
    """Set the caller's progress; reaching 100 % marks the course completed (once)."""
    user = acting_user(uow, ctx)
    course = uow.session.get(Course, course_id)
    if course is None:
        raise NotFound("no such course", {"fields": [{"field": "course_id", "reason": "no such course"}]})
    now = utc_now()
    progress = uow.session.get(CourseProgress, (user.id, course.id))
    if progress is None:
        progress = CourseProgress(user_id=user.id, course_id=course.id, percent=0, updated_at=now)
        uow.session.add(progress)
    progress.percent = request.percent
    progress.updated_at = now
    if request.percent == 100 and progress.completed_at is None:
        progress.completed_at = now
    elif request.percent < 100:
        progress.completed_at = None
    uow.commit()
    return _view(course, progress)
