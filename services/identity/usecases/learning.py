"""The learning hub: the course catalogue and each user's progress in it."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from contracts.errors import NotFound
from contracts.learning import CourseList, CourseProgressRequest, CourseView
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from services.identity.adapters.models import Course, CourseProgress
from services.identity.usecases.authentication import utc_now
from services.identity.usecases.users import acting_user


def _view(course: Course, progress: CourseProgress | None) -> CourseView:
    return CourseView(
        id=course.id, slug=course.slug, title=course.title, summary=course.summary, category=course.category,
        duration_minutes=course.duration_minutes, progress_percent=progress.percent if progress else 0,
        completed_at=progress.completed_at if progress else None, updated_at=progress.updated_at if progress else None,
    )


def list_courses(uow: UnitOfWork, ctx: CallContext) -> CourseList:
    """Every course, in catalogue order, with the calling user's progress."""
    user = acting_user(uow, ctx)
    rows = uow.session.execute(
        sa.select(Course, CourseProgress)
        .outerjoin(CourseProgress, sa.and_(CourseProgress.course_id == Course.id, CourseProgress.user_id == user.id))
        .order_by(Course.position, Course.title)
    ).all()
    return CourseList(items=[_view(course, progress) for course, progress in rows])


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
