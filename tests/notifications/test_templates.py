"""Templates: validation at load, rendering, versions, SMS segment counting."""

from __future__ import annotations

import pytest

from chudong.kit.errors import Unprocessable
from chudong.notifications.sms_length import sms_length
from chudong.notifications.templates import TemplateInvalid, catalogue, load_directory, preview

GOOD = """
id: t
version: 2
variables: [code]
sample: {code: "123"}
channels:
  sms: {vi: "Mã {{ code }}", en: "Code {{ code }}"}
"""


def write(tmp_path, text, name="t.yaml"):
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_builtin_templates_load_and_cover_the_service_steps():
    assert {"dossier-offered", "dossier-started", "supplement-requested", "dossier-approved", "dossier-rejected",
            "due-soon", "otp"} <= set(catalogue())


def test_unknown_variable_is_refused_naming_file_and_variable(tmp_path):
    bad = GOOD.replace("Code {{ code }}", "Code {{ code }} {{ dossier }}")
    with pytest.raises(TemplateInvalid) as exc:
        load_directory(write(tmp_path, bad, "broken.yaml"))
    assert "broken.yaml" in exc.value.message and "'dossier'" in exc.value.message


def test_missing_language_and_syntax_errors_are_refused(tmp_path):
    with pytest.raises(TemplateInvalid, match="sms.en is missing"):
        load_directory(write(tmp_path, GOOD.replace(', en: "Code {{ code }}"', "")))
    with pytest.raises(TemplateInvalid, match="syntax"):
        load_directory(write(tmp_path, GOOD.replace("{{ code }}\"}", "{{ code \"}")))
    with pytest.raises(TemplateInvalid, match="zns_template_id"):
        load_directory(write(tmp_path, GOOD + '  zalo: {vi: "x", en: "y"}\n'))


def test_render_records_version_and_refuses_missing_context(tmp_path):
    tpl = load_directory(write(tmp_path, GOOD))["t"]
    assert tpl.version == 2 and len(tpl.hash) == 16
    assert tpl.render("sms", "en", {"code": "9"}).body == "Code 9"
    with pytest.raises(Unprocessable, match="code"):
        tpl.render("sms", "vi", {})


def test_preview_gives_vietnamese_ucs2_and_an_unaccented_gsm7_variant():
    accented = preview("dossier-started", "sms", "vi")
    plain = preview("dossier-started", "sms", "vi", unaccented=True)
    assert accented.sms.encoding == "UCS-2" and accented.sms.segments == 2
    assert plain.sms.encoding == "GSM-7" and plain.sms.segments == 1
    assert plain.body.startswith("Ho so Dang ky khai sinh")


@pytest.mark.parametrize(("text", "encoding", "segments"), [
    ("", "GSM-7", 0),
    ("a" * 160, "GSM-7", 1),
    ("a" * 161, "GSM-7", 2),
    ("a" * 306, "GSM-7", 2),
    ("a" * 307, "GSM-7", 3),
    ("€" * 80, "GSM-7", 1),  # extension characters count twice: 160 septets
    ("€" * 81, "GSM-7", 2),
    ("ệ" * 70, "UCS-2", 1),
    ("ệ" * 71, "UCS-2", 2),
    ("ệ" * 134, "UCS-2", 2),
    ("ệ" * 135, "UCS-2", 3),
    ("Xin chào", "GSM-7", 1),  # à is in the GSM-7 alphabet
    ("Xin chào bạn", "UCS-2", 1),
])
def test_sms_segments(text, encoding, segments):
    info = sms_length(text)
    assert (info.encoding, info.segments) == (encoding, segments)


def test_plain_templates_render_exactly_as_jinja_does():
    from chudong.notifications.templates import LANGUAGES, Substitution, _env

    checked = 0
    for tpl in catalogue().values():
        for channel, entry in tpl.channels.items():
            for part in ("body", "subject", "title"):
                texts = entry if part == "body" else entry.get(part)
                if not isinstance(texts, dict):
                    continue
                for lang in LANGUAGES:
                    fast = tpl._compiled[(channel, lang, part)]
                    assert isinstance(fast, Substitution), (tpl.id, channel, lang, part)
                    context = {**tpl.sample, "extra": "ignored"}
                    assert fast.render(context) == _env.from_string(texts[lang]).render(context)
                    checked += 1
    assert checked > 50


def test_templates_with_filters_or_logic_still_render_through_jinja(tmp_path):
    from chudong.notifications.templates import Substitution

    text = GOOD.replace('vi: "Mã {{ code }}"', 'vi: "Mã {{ code | upper }}{% if code %}!{% endif %}"')
    tpl = load_directory(write(tmp_path, text))["t"]
    assert not isinstance(tpl._compiled[("sms", "vi", "body")], Substitution)
    assert isinstance(tpl._compiled[("sms", "en", "body")], Substitution)
    assert tpl.render("sms", "vi", {"code": "ab"}).body == "Mã AB!"
    assert tpl.render("sms", "en", {"code": None}).body == "Code None"  # str() of the value, as Jinja does
    for lang in ("vi", "en"):  # the same error from Jinja and from the substitution
        with pytest.raises(Unprocessable, match="'code' is undefined"):
            tpl.render("sms", lang, {})


NOTICE = """
id: n
version: 1
notice: true
sms_segments: 2
variables: [action_vi, action_en, deadline, dossier_code, link]
sample: {action_vi: "Xác nhận", action_en: "Confirm", deadline: "31/12/2026", dossier_code: "48-KS-261231-0001",
         link: "x.vn/d/1"}
channels:
  sms: {vi: "{{ action_vi }} trước {{ deadline }}. {{ dossier_code }} {{ link }}",
        en: "{{ action_en }} by {{ deadline }}. {{ dossier_code }} {{ link }}"}
  zalo: {zns_template_id: "1", vi: "{{ action_vi }} trước {{ deadline }}. {{ dossier_code }} {{ link }}",
         en: "{{ action_en }} by {{ deadline }}. {{ dossier_code }} {{ link }}"}
  email: {subject: {vi: "Hồ sơ", en: "Dossier"}, vi: "{{ action_vi }} trước {{ deadline }}. {{ dossier_code }} {{ link }}",
          en: "{{ action_en }} by {{ deadline }}. {{ dossier_code }} {{ link }}"}
  inbox: {subject: {vi: "Hồ sơ", en: "Dossier"}, vi: "{{ action_vi }} trước {{ deadline }}. {{ dossier_code }} {{ link }}",
          en: "{{ action_en }} by {{ deadline }}. {{ dossier_code }} {{ link }}"}
"""


def test_a_notice_names_action_deadline_code_and_link_on_every_channel(tmp_path):
    assert load_directory(write(tmp_path, NOTICE))["n"].id == "n"
    no_link = NOTICE.replace('email: {subject: {vi: "Hồ sơ", en: "Dossier"}, vi: "{{ action_vi }} trước {{ deadline }}. '
                             '{{ dossier_code }} {{ link }}"', 'email: {subject: {vi: "Hồ sơ", en: "Dossier"}, '
                             'vi: "{{ action_vi }} trước {{ deadline }}. {{ dossier_code }}"')
    with pytest.raises(TemplateInvalid, match="email vi leaves out 'link'"):
        load_directory(write(tmp_path, no_link))
    no_inbox = NOTICE.split("  inbox:")[0]
    with pytest.raises(TemplateInvalid, match="a notice needs a inbox message"):
        load_directory(write(tmp_path, no_inbox))


def test_a_notice_sms_over_its_segment_budget_is_refused(tmp_path):
    long_action = NOTICE.replace('action_vi: "Xác nhận"', 'action_vi: "' + "Xác nhận hồ sơ khai sinh cho bé " * 3 + '"')
    with pytest.raises(TemplateInvalid, match=r"sms vi costs 3 segments .*budget is 2"):
        load_directory(write(tmp_path, long_action))
    with pytest.raises(TemplateInvalid, match="sms_segments"):
        load_directory(write(tmp_path, NOTICE.replace("sms_segments: 2\n", "")))


def test_the_service_notices_carry_the_four_parts_within_two_sms():
    for tid in ("service-notice", "service-update"):
        tpl = catalogue()[tid]
        for lang in ("vi", "en"):
            sms = preview(tid, "sms", lang)
            assert sms.sms is not None and sms.sms.segments <= 2
            assert tpl.sample["dossier_code"] in sms.body and tpl.sample["link"] in sms.body
    assert "31/12/2026" in preview("service-notice", "inbox", "vi").body
