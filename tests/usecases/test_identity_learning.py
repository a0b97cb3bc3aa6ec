"""The learning hub on identity's real handlers and a migrated database: catalogue and progress."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from pydantic import SecretStr, ValidationError

from contracts.context import Caller
from contracts.errors import NotFound, PermissionDenied
from contracts.learning import CourseProgressRequest
from servicekit.context import CallContext
from services.identity.adapters.models import User
from services.identity.usecases import learning
from services.identity.usecases.bootstrap import ensure_demo_administrator

TENANT = uuid.uuid4()


def signed_in(identity_db, email: str) -> CallContext:
    ensure_demo_administrator(identity_db.unit_of_work(), TENANT, email, SecretStr("a quiet harbour at dawn"))
    uow = identity_db.unit_of_work()
    user = uow.session.query(User).filter_by(email_normalised=email).one()
    me = SimpleNamespace(id=user.id, tenant_id=user.tenant_id, email=user.email, role=user.role)
    uow.close()
    caller = Caller(user_id=me.id, tenant_id=me.tenant_id, email=me.email, role=me.role, ip="203.0.113.10")
    return CallContext("identity", caller, "test")


def test_the_seeded_catalogue_starts_at_zero_progress_in_its_order(identity_db):
    ctx = signed_in(identity_db, "admin@northwind.example")

    courses = learning.list_courses(identity_db.unit_of_work(), ctx).items

    assert [c.slug for c in courses][:2] == ["portal-basics", "partners-and-trials"]
    assert len(courses) == 6 and all(c.progress_percent == 0 and c.completed_at is None for c in courses)


def test_progress_is_kept_per_user_and_reaching_100_completes_the_course(identity_db):
    ctx = signed_in(identity_db, "admin@northwind.example")
    course = learning.list_courses(identity_db.unit_of_work(), ctx).items[1]

    halfway = learning.record_course_progress(identity_db.unit_of_work(), ctx, course.id,
                                              CourseProgressRequest(percent=50))
    done = learning.record_course_progress(identity_db.unit_of_work(), ctx, course.id,
                                           CourseProgressRequest(percent=100))

    assert halfway.progress_percent == 50 and halfway.completed_at is None
    assert done.progress_percent == 100 and done.completed_at is not None
    mine = {c.id: c for c in learning.list_courses(identity_db.unit_of_work(), ctx).items}
    assert mine[course.id].progress_percent == 100
    # Another user of the same portal starts from nothing.
    other = signed_in(identity_db, "other@northwind.example")
    theirs = {c.id: c for c in learning.list_courses(identity_db.unit_of_work(), other).items}
    assert theirs[course.id].progress_percent == 0


def test_an_unknown_course_is_not_found_and_progress_stays_within_0_to_100(identity_db):
    ctx = signed_in(identity_db, "admin@northwind.example")

    with pytest.raises(NotFound):
        learning.record_course_progress(identity_db.unit_of_work(), ctx, uuid.uuid4(),
                                        CourseProgressRequest(percent=10))
    with pytest.raises(ValidationError):
        CourseProgressRequest(percent=101)


def test_nobody_signed_in_has_no_progress_to_read(identity_db):
    anonymous = CallContext("identity", Caller(ip="203.0.113.10"), "test")

    with pytest.raises(PermissionDenied):
        learning.list_courses(identity_db.unit_of_work(), anonymous)


def test_a_search_keeps_matching_courses_and_the_summary_counts_the_whole_catalogue(identity_db):
    ctx = signed_in(identity_db, "learner@northwind.example")
    courses = learning.list_courses(identity_db.unit_of_work(), ctx).items
    learning.record_course_progress(identity_db.unit_of_work(), ctx, courses[0].id, CourseProgressRequest(percent=25))
    learning.record_course_progress(identity_db.unit_of_work(), ctx, courses[1].id, CourseProgressRequest(percent=100))

    found = learning.list_courses(identity_db.unit_of_work(), ctx, search=courses[2].title.upper())

    assert [c.id for c in found.items] == [courses[2].id]
    assert (found.total, found.started, found.completed) == (6, 1, 1)
    assert learning.list_courses(identity_db.unit_of_work(), ctx, search="zzz-no-such-course").items == []
