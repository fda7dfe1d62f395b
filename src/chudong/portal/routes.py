"""All portal pages, one router (included by the app)."""

from fastapi import APIRouter

from chudong.portal import citizen, leader, public, signin, staff

router = APIRouter(include_in_schema=False)
for module in (signin, citizen, public, staff, leader):
    router.include_router(module.router)
