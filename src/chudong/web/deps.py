"""Request-scoped dependencies: one database transaction per request, committed in one place."""

from __future__ import annotations

from typing import Annotated, Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session


def get_session(request: Request) -> Iterator[Session]:
    """Yield the request's session; commit if the route succeeded, roll back otherwise."""
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": commit before the response is sent, so a client never sees success
# for a transaction that then fails to commit, nor a redirect to a state not yet visible
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
