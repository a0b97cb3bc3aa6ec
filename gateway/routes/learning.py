"""The learning hub: the course catalogue with the signed-in user's progress (identity owns it)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from contracts.learning import CourseList, CourseProgressRequest, CourseView
from gateway.auth import Authorised
from gateway.deps import Rpc

router = APIRouter(prefix="/learning-hub", tags=["learning hub"])


@router.get("/courses", response_model=CourseList, summary="The course catalogue with your progress")
def list_courses(principal: Authorised, rpc: Rpc) -> CourseList:
    return rpc.identity.list_courses()


@router.put("/courses/{course_id}/progress", response_model=CourseView,
            summary="Record your progress in a course (0 to 100; 100 marks it completed)",
            responses={404: {"description": "`not_found`: no such course"}})
def record_progress(course_id: uuid.UUID, body: CourseProgressRequest, principal: Authorised, rpc: Rpc) -> CourseView:
    return rpc.identity.record_course_progress(str(course_id), body.to_wire())
