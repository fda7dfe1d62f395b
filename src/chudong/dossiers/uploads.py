"""Documents a citizen uploads: type and size checked by content, scanned, stored outside the database.

A file is accepted when its bytes are a PDF, a JPEG or a PNG (whatever its name or the browser says),
is not empty and not above ``MAX_UPLOAD_BYTES``, and the province's virus scanner (clamd, when
configured) finds nothing. It is stored once under ``<data dir>/uploads/<sha256[:2]>/<sha256>``
(content-addressed, written to a temporary name then renamed: never half a file); the attachment row
holds its name, type, size and checksum, not its bytes. Reading it back checks the checksum.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session

from chudong.adapters.scan import Scanner
from chudong.dossiers.models import Dossier, DossierAttachment
from chudong.identity.principal import Principal
from chudong.kit import clock
from chudong.kit.errors import Conflict, Unprocessable

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# the first bytes of each accepted type (the only thing that decides the type)
SIGNATURES = ((b"%PDF-", "application/pdf"), (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))
OPEN_FOR_UPLOADS = ("offered", "confirmed", "in_processing", "supplement_requested")


class UploadRefused(Unprocessable):
    """The file is refused; ``why`` is one of empty, too_large, type, infected (pages translate it)."""

    code = "upload_refused"

    def __init__(self, message: str, why: str) -> None:
        super().__init__(message, field="file")
        self.why = why


def sniff(content: bytes) -> str | None:
    """Return the media type the content really is (PDF, JPEG, PNG), or None."""
    return next((media for magic, media in SIGNATURES if content.startswith(magic)), None)


def path_of(directory: Path, sha256: str) -> Path:
    """Return where the file with this checksum is stored."""
    return directory / sha256[:2] / sha256


def _store(directory: Path, content: bytes, sha256: str) -> None:
    target = path_of(directory, sha256)
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_upload(session: Session, d: Dossier, who: Principal, *, kind: str, filename: str, content: bytes,
               directory: Path, scanner: Scanner | None) -> DossierAttachment:
    """Check, scan and store one uploaded document of dossier ``d``; return its attachment row."""
    from chudong.dossiers.service import add_event

    if d.status not in OPEN_FOR_UPLOADS:
        raise Conflict(f"documents cannot be added to dossier {d.code} while it is {d.status.replace('_', ' ')}")
    name = Path((filename or "").replace("\\", "/")).name.strip()[:200] or "document"
    if not content:
        raise UploadRefused(f"{name}: the file is empty", "empty")
    if len(content) > MAX_UPLOAD_BYTES:
        raise UploadRefused(f"{name}: the file is {len(content)} bytes; the limit is {MAX_UPLOAD_BYTES}", "too_large")
    media_type = sniff(content)
    if media_type is None:
        raise UploadRefused(f"{name}: the content is not a PDF, JPEG or PNG (whatever its name says)", "type")
    if scanner is not None:
        found = scanner.scan(content)  # ScanFailed (503) when the scanner cannot answer: nothing is stored
        if not found.clean:
            raise UploadRefused(f"{name}: the virus scanner found {found.signature}", "infected")
    sha256 = hashlib.sha256(content).hexdigest()
    _store(directory, content, sha256)
    att = DossierAttachment(dossier_id=d.id, kind=(kind.strip() or "supplement")[:40], filename=name,
                            media_type=media_type, size=len(content), sha256=sha256, content=b"",
                            uploaded_by=who.label, uploaded_at=clock.now())
    session.add(att)
    session.flush()
    add_event(session, d, "attachment_added", who, {"attachment_id": att.id, "kind": att.kind, "sha256": sha256,
                                                   "size": att.size, "stored": "file",
                                                   "scanned_by": scanner.name if scanner else None})
    return att


def read_upload(att: DossierAttachment, directory: Path) -> bytes:
    """Return an attachment's bytes (from the row, or from its file, checksum verified)."""
    if att.content:
        return att.content
    content = path_of(directory, att.sha256).read_bytes()
    if hashlib.sha256(content).hexdigest() != att.sha256:
        raise Conflict(f"attachment {att.id}: the stored file does not match its checksum")
    return content


def upload_directory(data_dir: Path) -> Path:
    """Return the upload folder under the data directory."""
    return Path(data_dir) / "uploads"
