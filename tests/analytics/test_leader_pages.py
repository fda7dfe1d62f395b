"""Leader pages: one-screen dashboard with SVG charts and no inline style; unit and procedure picked by name."""

from __future__ import annotations

import re

from tests.dossiers import builders as db
from tests.portal.helpers import staff_account, staff_signin


def _leader(client, session):
    db.units(session)
    staff_account(session, "lanhdao", "leader")
    session.commit()
    staff_signin(client, "lanhdao")


def test_dashboard_charts_work_under_the_csp(client, session, clock):
    _leader(client, session)
    r = client.get("/leader")
    assert r.status_code == 200
    assert "style-src 'self'" in r.headers["content-security-policy"]
    assert 'style="' not in r.text  # the CSP would block it
    for chart in ("chart-weekly", "chart-index", "chart-processing"):
        svg = re.search(rf'<svg class="plot" id="{chart}".*?</svg>', r.text, re.S)
        assert svg, chart
        assert "<title" in svg.group(0) and "<line" in svg.group(0)  # labelled, with axes
    weekly = re.search(r'id="chart-weekly".*?</svg>', r.text, re.S).group(0)
    assert ">tiếp nhận<" in weekly and ">đã giải quyết<" in weekly  # the legend, in words
    assert "-hatch)" in weekly  # the second series differs by fill, not only by colour


def test_index_unknown_unit_name_says_so_instead_of_a_score(client, session, clock):
    _leader(client, session)
    r = client.get("/leader/index?period=2026-10&unit=Sở Không Có", headers={"accept": "text/html"})
    assert r.status_code == 404 and 'id="unknown-scope"' in r.text and "/100" not in r.text


def test_index_unit_by_name_resolves_and_pickers_show_names(client, session, clock):
    _leader(client, session)
    from sqlalchemy import select

    from chudong.dossiers.models import Unit

    code, name = session.execute(select(Unit.code, Unit.name).order_by(Unit.code).limit(1)).one()
    r = client.get(f"/leader/index?period=2026-10&unit={name}")
    assert r.status_code == 200 and f'<option value="{code}" selected>' in r.text
    assert "Tiến độ giải quyết" in r.text and "<td>progress" not in r.text  # names, not keys
    assert 'style="' not in r.text
