"""Request bodies that more than one route module takes (so no route module imports another)."""

from __future__ import annotations

from pydantic import BaseModel

from contracts.billing import BillingMethod


# A monthly billing method: the distributor's own choice, or Support switching it. (No docstring:
# it would become the schema's description and change the published OpenAPI document.)
class MethodBody(BaseModel):
    method: BillingMethod
