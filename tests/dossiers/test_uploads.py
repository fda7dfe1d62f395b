"""Uploaded documents: the type is read from the content, the bytes live outside the database under their
checksum, clamd's verdict decides, nothing is half-stored."""

from __future__ import annotations

import hashlib

import pytest

from chudong.adapters.scan import ScanFailed, scanner_from_address
from chudong.adapters.scan.fake import EICAR, FakeScanner
from chudong.adapters.scan.clamd import ClamdScanner
from chudong.dossiers import service, uploads
from chudong.dossiers.models import DossierAttachment
from chudong.identity.principal import Principal
from tests.adapters.clamd_server import clamd_address  # noqa: F401  (fixture)

from . import builders as b

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"


@pytest.fixture
def dossier(session, clock):
    b.units(session)
    mother = b.person(session)
    ev = b.life_event(session, "birth-registration", person=mother, vital=b.vital_event(session, mother=mother))
    d = service.get_by_code(session, service.open_dossiers(session, [ev.id]).codes[0])
    return d, Principal.citizen(mother.id)


def test_type_comes_from_the_content_and_the_file_lives_outside_the_database(session, dossier, tmp_path):
    d, who = dossier
    att = uploads.add_upload(session, d, who, kind="supplement", filename="ảnh giấy chứng sinh.pdf", content=PNG,
                             directory=tmp_path, scanner=FakeScanner())
    assert att.media_type == "image/png" and att.content == b"" and att.size == len(PNG)
    assert att.sha256 == hashlib.sha256(PNG).hexdigest()
    assert uploads.path_of(tmp_path, att.sha256).read_bytes() == PNG
    assert uploads.read_upload(att, tmp_path) == PNG
    uploads.path_of(tmp_path, att.sha256).write_bytes(PNG + b"x")
    with pytest.raises(Exception, match="does not match its checksum"):
        uploads.read_upload(att, tmp_path)


@pytest.mark.parametrize(("content", "why"), [(b"", "empty"), (b"not a pdf at all", "type"),
                                               (b"%PDF-" + b"0" * uploads.MAX_UPLOAD_BYTES, "too_large")])
def test_refused_files_say_why_and_store_nothing(session, dossier, tmp_path, content, why):
    d, who = dossier
    with pytest.raises(uploads.UploadRefused) as exc:
        uploads.add_upload(session, d, who, kind="x", filename="giay-to.pdf", content=content, directory=tmp_path,
                           scanner=None)
    assert exc.value.why == why and "giay-to.pdf" in exc.value.message
    assert not any(tmp_path.rglob("*")) and session.query(DossierAttachment).count() == 0


def test_clamd_refuses_eicar_and_a_dead_scanner_refuses_everything(session, dossier, tmp_path, clamd_address):  # noqa: F811
    d, who = dossier
    with pytest.raises(uploads.UploadRefused) as exc:
        uploads.add_upload(session, d, who, kind="x", filename="a.pdf", content=PDF + EICAR, directory=tmp_path,
                           scanner=scanner_from_address(clamd_address))
    assert exc.value.why == "infected" and "Eicar-Test-Signature" in exc.value.message
    ok = uploads.add_upload(session, d, who, kind="x", filename="a.pdf", content=PDF, directory=tmp_path,
                            scanner=scanner_from_address(clamd_address))
    assert ok.media_type == "application/pdf"
    with pytest.raises(ScanFailed):
        uploads.add_upload(session, d, who, kind="x", filename="b.pdf", content=PDF + b" ", directory=tmp_path,
                           scanner=ClamdScanner.from_address(f"unix:{tmp_path / 'gone.sock'}", timeout=2))
    assert not uploads.path_of(tmp_path, hashlib.sha256(PDF + b" ").hexdigest()).exists()


def test_invalid_father_pid_is_refused_and_none_on_record_is_accepted(session, dossier):
    d, who = dossier
    with pytest.raises(Exception, match="father_pid"):
        service.confirm(session, d, who, supplied={"child_name": "Lê An", "father_pid": "123"}, linked=[],
                        version=d.version)
    service.confirm(session, d, who, supplied={"child_name": "Lê An", "father_pid": "Không có"}, linked=[],
                    version=d.version)
    assert d.status == "confirmed" and d.fields["father_pid"]["value"] == "Không có"
