"""Request bodies that more than one route module takes (so no route module imports another)."""

from __future__ import annotations

from pydantic import BaseModel

from contracts.billing import BillingMethod


class MethodBody(BaseModel):
    """A monthly billing method: the distributor's own choice, or Support switching it."""

    method: BillingMethod
