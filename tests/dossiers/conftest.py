import pytest
from sqlalchemy.orm import Session

from chudong.dossiers import flows

from . import builders


@pytest.fixture
def notices(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Capture the notices the dossier engine hands to the notifications feature."""
    sent: list[dict] = []

    def fake_enqueue(session: Session, **kw) -> None:
        sent.append(kw)

    def fake_many(session: Session, notices: list[flows.Notice]) -> int:
        sent.extend({"event_key": f"dossier:{n.code}", "step": n.step, "person_id": n.person_id,
                     "template_id": n.template_id, "context": n.context} for n in notices)
        return len(notices)

    monkeypatch.setattr(flows, "_notifications_enqueue", lambda: fake_enqueue)
    monkeypatch.setattr(flows, "notify_many", fake_many)
    return sent


@pytest.fixture
def seeded(session: Session, clock) -> Session:
    """A session with the test province's units seeded."""
    builders.units(session)
    session.flush()
    return session
