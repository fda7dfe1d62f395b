"""Accessibility and phone checks of every main page in a real browser (Debian chromium).

Each page, signed in as its audience, at 360 px width: ``<html lang>`` set, exactly one
``<h1>``, every form control labelled, buttons named, no horizontal scrolling, and the
HTML + CSS + JS it loads under 100 KB apart from the vendored htmx. The citizen sign-in
works with the keyboard alone; the colours of app.css reach WCAG AA contrast.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import expect

from chudong.db import session_factory
from tests.browser.conftest import Birth, citizen_signin, make_birth, staff_signin, wait_for_code
from tests.conftest import _empty_tables
from tests.portal.helpers import CITIZEN_VALUES

pytestmark = pytest.mark.browser

APP_CSS = Path(__file__).resolve().parents[2] / "src" / "chudong" / "web" / "static" / "app.css"
VENDORED = ("/static/htmx.min.js",)
PAGE_BUDGET = 100 * 1024
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
SERIOUS = ("serious", "critical")  # axe-core impacts a page may not have

AUDIT_JS = """() => {
  const problems = [];
  const lang = document.documentElement.getAttribute('lang') || '';
  if (!/^(vi|en)$/.test(lang)) problems.push('html lang is ' + JSON.stringify(lang));
  const h1 = document.querySelectorAll('h1').length;
  if (h1 !== 1) problems.push(h1 + ' h1 elements');
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden') continue;
    const named = [...el.labels].some(l => l.textContent.trim()) || (el.getAttribute('aria-label') || '').trim()
      || el.getAttribute('aria-labelledby');
    if (!named) problems.push('unlabelled ' + el.tagName.toLowerCase() + ' ' + (el.name || el.id));
  }
  for (const el of document.querySelectorAll('button, a[href]')) {
    if (!(el.textContent.trim() || el.getAttribute('aria-label'))) problems.push('unnamed ' + el.outerHTML.slice(0, 80));
  }
  for (const img of document.querySelectorAll('img:not([alt])')) problems.push('img without alt ' + img.src);
  if (!document.querySelector('main')) problems.push('no <main> landmark');
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('svg') || !el.getClientRects().length) continue;
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (own && size < 12) problems.push('text smaller than 12px (' + size + 'px): ' + el.textContent.trim().slice(0, 40));
  }
  const sw = document.documentElement.scrollWidth;
  if (sw > window.innerWidth + 1) problems.push('scrolls sideways: ' + sw + ' > ' + window.innerWidth);
  return problems;
}"""


@pytest.fixture(scope="module")
def site(sqlite_engine, live_server, live_settings, browser) -> Iterator[dict]:
    """Data behind every main page (an offered and a settled dossier) and each role's signed-in state."""
    birth = make_birth(sqlite_engine)
    settled_code, token = _settled_dossier(sqlite_engine, birth, live_settings.secret_key)
    states = {}
    for role in ("citizen", "officer", "leader"):
        ctx = browser.new_context(viewport=PHONE, locale="vi-VN")
        pg = ctx.new_page()
        if role == "citizen":
            citizen_signin(pg, live_server, sqlite_engine, birth)
        else:
            staff_signin(pg, live_server, getattr(birth, role), landing="/leader" if role == "leader" else "/officer/queue")
        states[role] = ctx.storage_state()
        ctx.close()
    try:
        yield {"birth": birth, "settled": settled_code, "token": token, "states": states}
    finally:
        _empty_tables(sqlite_engine)


def _settled_dossier(engine, birth: Birth, secret: str) -> tuple[str, str]:
    """Give the same mother a second birth dossier, confirmed and approved; return its code and QR token."""
    from sqlalchemy import select

    from chudong.dossiers import service as dossiers
    from chudong.dossiers.models import Officer
    from chudong.dossiers.results import result_of, verification_token
    from chudong.identity.principal import Principal
    from chudong.registry.models import Person
    from tests.dossiers import builders as b

    with session_factory(engine)() as s:
        mother = s.get(Person, birth.person_id)
        ev = b.life_event(s, "birth-registration", person=mother, vital=b.vital_event(s, mother=mother))
        d = dossiers.get_by_code(s, dossiers.open_dossiers(s, [ev.id]).codes[0])
        supplied = {k: CITIZEN_VALUES.get(k, "Giá trị thử") for k, f in d.fields.items() if f.get("source") == "citizen"}
        dossiers.confirm(s, d, Principal.citizen(mother.id), supplied=supplied, linked=[], version=d.version)
        o = s.scalar(select(Officer).where(Officer.username == birth.officer))
        officer = Principal(kind="officer", id=o.id, label=f"officer:{o.username}", unit_code=o.unit_code,
                            agency=o.agency, role=o.role)
        dossiers.approve(s, d, officer, version=d.version)
        token = verification_token(secret, result_of(s, d))
        s.commit()
        return d.code, token


PAGES = [
    ("home", None, "/"),
    ("signin", None, "/signin"),
    ("staff-signin", None, "/staff/signin"),
    ("track", None, "/track"),
    ("overdue", None, "/overdue"),
    ("verify", None, "/verify/{token}"),
    ("me", "citizen", "/me"),
    ("dossier-offered", "citizen", "/me/dossiers/{offered}"),
    ("dossier-settled", "citizen", "/me/dossiers/{settled}"),
    ("settings", "citizen", "/me/settings"),
    ("access-log", "citizen", "/me/access"),
    ("inbox", "citizen", "/me/inbox"),
    ("queue", "officer", "/officer/queue"),
    ("officer-dossier", "officer", "/officer/dossiers/{offered}"),
    ("officer-approve-check", "officer", "/officer/dossiers/{offered}/approve"),
    ("officer-overdue", "officer", "/officer/overdue"),
    ("leader", "leader", "/leader"),
    ("leader-index", "leader", "/leader/index"),
    ("open-data", None, "/open-data"),
]


def axe_violations(pg) -> list[str]:
    """Run axe-core (axe-playwright-python's bundled copy) on the page; return its serious and critical findings."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(pg).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in found if v.get("impact") in SERIOUS]


def _page_weight(responses) -> tuple[int, dict[str, int]]:
    """Sum the bodies of the HTML, CSS and JS a page loaded, vendored libraries apart."""
    sizes = {}
    for r in responses:
        if r.request.resource_type in ("document", "stylesheet", "script") and not r.url.endswith(VENDORED):
            sizes[r.url] = len(r.body())
    return sum(sizes.values()), sizes


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360", "1280"])
@pytest.mark.parametrize("name, role, path", PAGES, ids=[p[0] for p in PAGES])
def test_page_is_accessible(name, role, path, viewport, site, browser, live_server):
    ctx = browser.new_context(viewport=viewport, locale="vi-VN",
                              storage_state=site["states"][role] if role else None)
    try:
        pg = ctx.new_page()
        responses = []
        pg.on("response", lambda r: responses.append(r))
        url = live_server + path.format(token=site["token"], offered=site["birth"].code, settled=site["settled"])
        response = pg.goto(url)
        assert response is not None and response.status == 200, f"{name}: {response and response.status}"
        assert pg.url == url, f"{name} redirected to {pg.url}"
        pg.wait_for_load_state("load")
        assert pg.evaluate(AUDIT_JS) == [], name
        assert axe_violations(pg) == [], name
        total, sizes = _page_weight(responses)
        assert "/static/app.css" in "".join(sizes), "the stylesheet was not loaded"
        assert total < PAGE_BUDGET, f"{name}: {total} bytes of HTML/CSS/JS: {sizes}"
    finally:
        ctx.close()


def test_audit_finds_what_it_looks_for(phone_page):
    phone_page.set_content("""<html><body><h1>a</h1><h1>b</h1><input name="q"><select id="s"></select>
        <label for="t">ok</label><textarea id="t"></textarea><button></button><img src="x.png">
        <p style="font-size:9px">tiny</p><div style="width:900px">wide</div></body></html>""")
    problems = "\n".join(phone_page.evaluate(AUDIT_JS))
    for expected in ("html lang", "2 h1", "unlabelled input q", "unlabelled select s", "unnamed <button",
                     "img without alt", "no <main>", "smaller than 12px", "scrolls sideways"):
        assert expected in problems
    assert "textarea" not in problems


def test_axe_reports_serious_violations(phone_page):
    phone_page.set_content("""<html lang="vi"><body><main><h1>a</h1><img src="x.png"><button></button>
        <input name="q"></main></body></html>""")
    found = "\n".join(axe_violations(phone_page))
    for rule in ("image-alt", "button-name", "label"):
        assert rule in found, found


def test_citizen_signs_in_with_the_keyboard_alone(phone_page, site, live_server, sqlite_engine):
    page, birth = phone_page, site["birth"]
    page.goto(live_server + "/signin")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"  # the skip link comes first
    expect(page.locator("a.skip")).to_have_text("Bỏ qua đến nội dung")

    def tab_to(selector: str) -> None:
        for _ in range(25):
            page.keyboard.press("Tab")
            if page.evaluate("s => document.activeElement.matches(s)", selector):
                return
        pytest.fail(f"Tab never reached {selector}")

    tab_to("#pid")
    page.keyboard.type(birth.pid)
    tab_to('main form[action="/signin"] button[type=submit]')
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), "the focused button shows no focus ring"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Nhập mã xác thực")
    assert page.evaluate(AUDIT_JS) == []  # the code page too
    tab_to("#code")
    page.keyboard.type(wait_for_code(sqlite_engine, birth.person_id))
    with page.expect_navigation(url="**/me"):
        page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text(f"Xin chào {birth.mother_name}")


def test_chart_labels_readable_on_a_phone(site, browser, live_server):
    ctx = browser.new_context(viewport=PHONE, locale="vi-VN", storage_state=site["states"]["leader"])
    try:
        pg = ctx.new_page()
        pg.goto(live_server + "/leader")
        # rendered size = font size in the viewBox × the scale the SVG is drawn at
        sizes = pg.evaluate("[...document.querySelectorAll('svg.plot text')]"
                            ".map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)")
        assert sizes, "the dashboard shows no chart"
        assert min(sizes) >= 12, f"chart labels render at {min(sizes):.1f}px on a 360px screen (minimum 12px)"
    finally:
        ctx.close()


def test_dossier_page_shows_no_python_none(site, browser, live_server):
    ctx = browser.new_context(viewport=PHONE, locale="vi-VN", storage_state=site["states"]["citizen"])
    try:
        pg = ctx.new_page()
        pg.goto(f"{live_server}/me/dossiers/{site['birth'].code}")
        fields = pg.locator("dl.fields dd").all_inner_texts()
        assert fields
        assert not [f for f in fields if re.match(r"(None|True|False)\b", f.strip())], fields
    finally:
        ctx.close()


# --- colour contrast, computed from the stylesheet itself -----------------------------------

def _css_colours() -> dict[str, str]:
    css = APP_CSS.read_text(encoding="utf-8")
    root = re.search(r":root\s*\{([^}]*)\}", css)
    assert root, "app.css has no :root block"
    colours = {f"--{k}": v.lower() for k, v in re.findall(r"--([\w-]+)\s*:\s*(#[0-9a-fA-F]{3,6})", root.group(1))}
    link = re.search(r"(?:^|\})\s*a\s*\{\s*color\s*:\s*(#[0-9a-fA-F]{3,6})", css)
    assert link, "app.css sets no link colour"
    colours["link"] = link.group(1).lower()
    focus = re.search(r":focus[^{]*\{[^}]*outline\s*:[^;}]*?(#[0-9a-fA-F]{3,6})", css)
    assert focus, "app.css sets no focus outline colour"
    colours["focus"] = focus.group(1).lower()
    colours["white"] = "#ffffff"
    return colours


def _luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    channels = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """Return the WCAG 2 contrast ratio of two #rrggbb colours."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_formula_matches_known_values():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48  # the classic just-failing grey
    assert contrast("#123456", "#123456") == 1.0


# text colour, background: every pair the stylesheet puts text on
TEXT_PAIRS = [
    ("--ink", "--bg"), ("--ink", "--soft"),            # body text, cards and notices
    ("--muted", "--bg"), ("--muted", "--soft"),        # muted text, footer, sources, "why"
    ("link", "--bg"), ("link", "--soft"),              # links
    ("--brand", "--bg"),                               # errors, brand, secondary buttons
    ("white", "--brand"),                              # primary buttons
    ("white", "--ok"), ("white", "--warn"), ("white", "--bad"),  # deadline badges
]


@pytest.mark.parametrize("fg, bg", TEXT_PAIRS, ids=[f"{f}-on-{b}" for f, b in TEXT_PAIRS])
def test_text_contrast_reaches_wcag_aa(fg, bg):
    colours = _css_colours()
    ratio = contrast(colours[fg], colours[bg])
    assert ratio >= 4.5, f"{fg} {colours[fg]} on {bg} {colours[bg]}: {ratio:.2f}:1 < 4.5:1"


def test_focus_ring_contrast_reaches_wcag_aa():
    colours = _css_colours()
    for bg in ("--bg", "--soft"):
        ratio = contrast(colours["focus"], colours[bg])
        assert ratio >= 3.0, f"focus outline {colours['focus']} on {bg}: {ratio:.2f}:1 < 3:1"
