"""The learning hub: a catalogue of training courses with each user's progress (identity owns it)."""

from __future__ import annotations

import uuid

from pydantic import AwareDatetime, Field

from contracts.base import WireModel


class CourseView(WireModel):
    """A course of the catalogue, with the calling user's progress in it."""

    id: uuid.UUID
    slug: str
    title: str
    summary: str
    category: str
    duration_minutes: int
    progress_percent: int = Field(ge=0, le=100, description="the caller's progress; 0 before starting")
    completed_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = Field(default=None, description="when the caller's progress last changed")


class CourseList(WireModel):
    items: list[CourseView]
    # The caller's whole catalogue, whatever ``search`` kept: the page's progress summary.
    total: int = 0
    started: int = Field(default=0, description="courses begun and not completed")
    completed: int = 0


class CourseProgressRequest(WireModel):
    percent: int = Field(ge=0, le=100, description="how much of the course the caller has done")
