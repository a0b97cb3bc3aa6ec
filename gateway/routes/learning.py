"""The learning hub: the course catalogue with the signed-in user's progress (identity owns it)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from contracts.learning import CourseList, CourseProgressRequest, CourseView
from gateway.auth import Authorised
from gateway.deps import Rpc

router = APIRouter(prefix="/learning-hub", tags=["learning hub"])


CourseSearch = Annotated[str | None, Query(min_length=1, max_length=200,
                                           description="part of a title, summary or category")]


@router.get("/courses", response_model=CourseList, summary="The course catalogue with your progress",
            description="`search` keeps the courses whose title, summary or category contain it; `total`, "
                        "`started` and `completed` always count your whole catalogue.")
def list_courses(principal: Authorised, rpc: Rpc, search: CourseSearch = None) -> CourseList:
    return rpc.identity.list_courses(search)


@router.put("/courses/{course_id}/progress", response_model=CourseView,
            summary="Record your progress in a course (0 to 100; 100 marks it completed)",
            responses={404: {"description": "`not_found`: no such course"}})
def record_progress(course_id: uuid.UUID, body: CourseProgressRequest, principal: Authorised, rpc: Rpc) -> CourseView:
    return rpc.identity.record_course_progress(str(course_id), body.to_wire())
