"""The coordinator's routes, JSON and pages side by side: the console and its API.

`people` holds frameworks, people, assignments, enrolment and progress; `records` holds what
was issued (credentials, revocation and suspension, claim links), the audit log and the mail
that could not be delivered.
"""

from __future__ import annotations

from fastapi import APIRouter

from issuer.web.routes.coordinator import people, records

router = APIRouter(tags=["coordinator"])
router.include_router(people.router)
router.include_router(records.router)
