"""The 1EdTech Open Badges API 3.0, both sides, JSON and pages side by side.

`resources` the Service Description Document and the endpoints backpacks read and write
(their errors Imsx_StatusInfo objects); `authorization` the authorization server (registration,
the learner's consent page, token, revocation) and the coordinators' list of registered
clients; `backpacks` the learner's page for sending a badge to a backpack, where this app is
the client. A package rather than one module: the three hold different audiences' routes,
each near the size the house keeps a module to.
"""

from __future__ import annotations

from fastapi import APIRouter

from issuer.web.routes.ob_api import authorization, backpacks, resources

router = APIRouter()
router.include_router(resources.router)
router.include_router(authorization.router)
router.include_router(backpacks.router)
