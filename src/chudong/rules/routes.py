"""Read-only public API of the service catalogue (no personal data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from chudong.rules.catalogue import ServiceDef, get_catalogue

router = APIRouter(prefix="/api/v1/services", tags=["services"])


def _public(svc: ServiceDef) -> dict[str, Any]:
    return svc.model_dump(exclude={"source_file"})


@router.get("")
def list_services() -> list[dict[str, Any]]:
    """List the proactive services of the catalogue."""
    cat = get_catalogue()
    return [_public(cat.services[k]) for k in sorted(cat.services)]


@router.get("/{service_id}")
def get_service(service_id: str) -> dict[str, Any]:
    """Return one service of the catalogue with its legal basis, deadlines and linked procedures."""
    return _public(get_catalogue().service(service_id))
