"""Agency feed API: ``POST /api/v1/feeds/{feed}`` and the runs' rejection reports.

Agencies authenticate with their API key (``Authorization: Bearer <key>`` or
``X-API-Key``). Bodies are streamed to a temporary file with a hard limit, so a 2 GB
upload is refused with 413 without being held in memory.
"""

from __future__ import annotations

import csv
import io
import tempfile
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from chudong.fhir.parser import MAX_BUNDLE_BYTES
from chudong.ingest.feeds import CSV_FEEDS, FHIR_FEEDS
from chudong.ingest.pipeline import check_agency_may_send, find_run, ingest_csv, run_rejections
from chudong.ingest.reader import FileRejected, UnknownFeed
from chudong.ingest.vital import ingest_fhir
from chudong.kit.errors import PayloadTooLarge
from chudong.registry.models import Agency
from chudong.registry.service import authenticate_agency
from chudong.web.deps import SessionDep

MAX_CSV_BYTES = 50 * 1024 * 1024  # larger files: `chudong ingest` on the server, or split them
MAX_NDJSON_BYTES = 50 * 1024 * 1024

router = APIRouter(prefix="/api/v1/feeds", tags=["feeds"])
# run ids are 64-bit database keys: a larger number is a 422, not a driver overflow (500)
RunId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def current_agency(
    session: SessionDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Agency:
    """Authenticate the calling agency by its API key."""
    key = x_api_key
    if authorization and authorization.lower().startswith("bearer "):
        key = authorization[7:].strip()
    return authenticate_agency(session, key)


AgencyDep = Annotated[Agency, Depends(current_agency)]


async def _spool(request: Request, limit: int) -> tempfile.SpooledTemporaryFile:
    """Read the body into a temporary file, refusing more than ``limit`` bytes or a truncated upload."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise FileRejected("Content-Length is not a number", field="body")
        if int(declared) > limit:
            raise PayloadTooLarge(f"the body is {declared} bytes; the limit is {limit} bytes ({limit // 2**20} MiB)",
                                  field="body")
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 2**20)
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"the body is over the limit of {limit} bytes ({limit // 2**20} MiB)",
                                      field="body")
            spool.write(chunk)
    except ClientDisconnect:
        raise FileRejected("the upload was interrupted before the end of the body; nothing was stored",
                           field="body") from None
    if declared is not None and size != int(declared):
        raise FileRejected(f"the upload is truncated: Content-Length says {declared} bytes, {size} arrived; "
                           "nothing was stored", field="body")
    if size == 0:
        raise FileRejected("the body is empty", field="body")
    spool.seek(0)
    return spool


@router.post("/{feed}")
async def post_feed(feed: str, request: Request, session: SessionDep, agency: AgencyDep) -> JSONResponse:
    """Ingest a feed file (CSV body; births/deaths: one FHIR Bundle, or NDJSON) and return counts."""
    if feed not in CSV_FEEDS and feed not in FHIR_FEEDS:
        raise UnknownFeed(f"unknown feed {feed!r}; feeds are: {', '.join([*CSV_FEEDS, *FHIR_FEEDS])}", field="feed")
    check_agency_may_send(agency, feed)
    # End the (read-only) authentication transaction before the upload: a client that sends its
    # body slowly must not hold a pooled connection meanwhile (a few stalled uploads would
    # exhaust the pool and hang every other request). The agency reloads when next used.
    session.rollback()
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    name = request.headers.get("x-file-name", "")
    if feed in CSV_FEEDS:
        if media not in ("text/csv", "application/csv", "text/plain", "application/octet-stream", ""):
            raise FileRejected(f"send the {feed} feed as text/csv (got {media})", field="content-type")
        spool = await _spool(request, MAX_CSV_BYTES)
        result = await run_in_threadpool(ingest_csv, session, feed, agency, spool, file_name=name)
    elif media == "application/x-ndjson":
        spool = await _spool(request, MAX_NDJSON_BYTES)
        result = await run_in_threadpool(ingest_fhir, session, feed, agency, lines=iter(spool), file_name=name)
    else:
        spool = await _spool(request, MAX_BUNDLE_BYTES)
        result = await run_in_threadpool(ingest_fhir, session, feed, agency, body=spool.read(), file_name=name)
    body = result.summary()
    if result.status != "rejected":
        from chudong.rules.streaming import on_run

        events = await run_in_threadpool(on_run, session, result.run_id, feed)
        body["life_events"] = dict(events)
    if result.status == "rejected":
        # the run (with its reason) is kept so the agency can look it up; no data was stored. The
        # response is an error status without raising, so the request's transaction commits the run.
        refusal = result.refusal
        return JSONResponse({"error": refusal.code if refusal else "file_rejected", "detail": result.file_error,
                             "field": refusal.field if refusal else None, **body},
                            status_code=refusal.status_code if refusal else 400)
    return JSONResponse(body)


@router.get("/runs/{run_id}")
def get_run(run_id: RunId, session: SessionDep, agency: AgencyDep) -> dict:
    """Return one of the agency's ingest runs with its counts."""
    run = find_run(session, run_id, agency.code)
    return {"run_id": run.id, "feed": run.feed, "agency": run.agency_code, "status": run.status,
            "file_name": run.file_name, "accepted": run.accepted, "updated": run.updated,
            "unchanged": run.unchanged, "rejected": run.rejected, "file_error": run.file_error,
            "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None}


@router.get("/runs/{run_id}/rejections", response_model=None)
def get_rejections(run_id: RunId, session: SessionDep, agency: AgencyDep,
                   format: Annotated[str, Query(pattern="^(csv|json)$")] = "json") -> Response | dict:
    """Return the rejection report of one of the agency's runs (record, field, reason) as CSV or JSON."""
    run = find_run(session, run_id, agency.code)
    rows = run_rejections(session, run.id)
    if format == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["line", "source_key", "field", "reason", "record"])
        for r in rows:
            w.writerow([r.line if r.line is not None else "", r.source_key or "", r.field, r.reason, r.record])
        return Response(buf.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="run-{run.id}-rejections.csv"'})
    return {"run_id": run.id, "rejections": [
        {"line": r.line, "source_key": r.source_key, "field": r.field, "reason": r.reason, "record": r.record}
        for r in rows]}

