"""The coordinator's routes, JSON and pages side by side: the console and its API.

`console` holds the console's overview, frameworks, enrolment and progress; `people` the
people (invitations, changes, deactivation); `assignments` who supervises whom; `records`
what was issued (credentials, revocation and suspension, claim links), the audit log and the
mail that could not be delivered; `imports` sign-off records imported from CSV, in bulk.
"""

from __future__ import annotations

from fastapi import APIRouter

from issuer.web.routes.coordinator import assignments, console, imports, people, records

router = APIRouter(tags=["coordinator"])
router.include_router(console.router)
router.include_router(people.router)
router.include_router(assignments.router)
router.include_router(records.router)
router.include_router(imports.router)
