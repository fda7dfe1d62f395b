"""Message templates: one YAML file per template in ``templates_msg/``, validated at load.

A template has an id, a version, the variables it may use, sample values for preview,
and per channel a Vietnamese and an English body (plus a subject for e-mail and the
inbox, a title for push, and the approved ZNS template id for Zalo). Loading refuses
a body that uses a variable the template does not declare, naming file and variable.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from chudong.kit.errors import ChudongError, NotFound, Unprocessable
from chudong.kit.names import strip_diacritics
from chudong.notifications.sms_length import SmsLength, sms_length

TEMPLATE_DIR = Path(__file__).parent / "templates_msg"
CHANNELS = ("sms", "zalo", "email", "push", "inbox")
LANGUAGES = ("vi", "en")
# Parts of a channel entry that are text to render (besides the vi/en bodies).
_TEXT_PARTS = {"email": ("subject",), "push": ("title",), "inbox": ("subject",)}
_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


class TemplateInvalid(ChudongError):
    """A template file is wrong; the message names the file and what is wrong."""

    status_code = 500
    code = "template_invalid"


@dataclass(frozen=True)
class Rendered:
    """One channel's message as it will be sent."""

    channel: str
    language: str
    body: str
    subject: str = ""
    zns_template_id: str = ""
    sms: SmsLength | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON stored on the outbox row."""
        d: dict[str, Any] = {"body": self.body}
        if self.subject:
            d["subject"] = self.subject
        if self.zns_template_id:
            d["zns_template_id"] = self.zns_template_id
        if self.sms:
            d["sms"] = {"encoding": self.sms.encoding, "segments": self.sms.segments}
        return d


class Substitution:
    """A template that is only literal text and ``{{ variable }}`` outputs, rendered without Jinja's machinery.

    Every built-in template is of this kind. The output is exactly Jinja's (``str`` of each
    value, no autoescape, the trailing newline dropped at parse time) and a missing variable
    raises Jinja's own ``UndefinedError``, so a compiled Jinja template and a Substitution are
    interchangeable; a Substitution costs about a tenth (enqueue renders every planned channel).
    """

    __slots__ = ("parts",)

    def __init__(self, parts: tuple[tuple[bool, str], ...]) -> None:
        self.parts = parts  # (is_variable, literal text or variable name)

    @classmethod
    def of(cls, ast: nodes.Template) -> Substitution | None:
        """Return the Substitution equivalent to a parsed template, or None if it uses anything else."""
        if len(ast.body) != 1 or not isinstance(ast.body[0], nodes.Output):
            return None
        parts: list[tuple[bool, str]] = []
        for node in ast.body[0].nodes:
            if isinstance(node, nodes.TemplateData):
                parts.append((False, node.data))
            elif isinstance(node, nodes.Name) and node.ctx == "load" and node.name not in _env.globals:
                parts.append((True, node.name))
            else:
                return None
        return cls(tuple(parts))

    def render(self, context: dict[str, Any]) -> str:
        """Return the text with the variables filled in; a missing one raises UndefinedError."""
        out = []
        for is_variable, text in self.parts:
            if not is_variable:
                out.append(text)
            elif text in context:
                out.append(str(context[text]))
            else:
                raise UndefinedError(f"{text!r} is undefined")
        return "".join(out)


@dataclass
class MessageTemplate:
    """A loaded, validated template."""

    id: str
    version: int
    variables: tuple[str, ...]
    sample: dict[str, Any]
    channels: dict[str, dict[str, Any]]
    source: Path
    hash: str
    _compiled: dict[tuple[str, str, str], Any] = field(default_factory=dict, repr=False)

    def render(self, channel: str, language: str, context: dict[str, Any], *, unaccented: bool = False) -> Rendered:
        """Render one channel in one language; refuse missing variables."""
        if channel not in self.channels:
            raise Unprocessable(f"template {self.id!r} has no {channel} message", field="template_id")
        lang = language if language in LANGUAGES else "vi"
        try:
            body = self._compiled[(channel, lang, "body")].render(context).strip()
            subject = ""
            for part in _TEXT_PARTS.get(channel, ()):
                subject = self._compiled[(channel, lang, part)].render(context).strip()
        except UndefinedError as exc:
            raise Unprocessable(f"template {self.id!r}: {exc.message}; pass it in context", field="context") from None
        info = None
        if channel == "sms":
            if unaccented:
                body = strip_diacritics(body)
            info = sms_length(body)
        return Rendered(channel, lang, body, subject, str(self.channels[channel].get("zns_template_id", "")), info)


def _fail(path: Path, msg: str) -> TemplateInvalid:
    return TemplateInvalid(f"{path.name}: {msg}")


def load_template(path: Path) -> MessageTemplate:
    """Load and validate one template file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise _fail(path, f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise _fail(path, "must be a mapping with id, version, variables, channels")
    for key in ("id", "version", "variables", "channels"):
        if key not in data:
            raise _fail(path, f"missing {key!r}")
    if not isinstance(data["version"], int) or data["version"] < 1:
        raise _fail(path, "version must be a positive integer")
    variables = tuple(data["variables"] or ())
    channels = data["channels"]
    if not isinstance(channels, dict) or not channels:
        raise _fail(path, "channels must name at least one channel")
    compiled: dict[tuple[str, str, str], Any] = {}
    for channel, entry in channels.items():
        if channel not in CHANNELS:
            raise _fail(path, f"unknown channel {channel!r} (known: {', '.join(CHANNELS)})")
        if channel == "zalo" and not entry.get("zns_template_id"):
            raise _fail(path, "zalo needs the approved zns_template_id")
        parts = [("body", entry)] + [(p, entry.get(p) or {}) for p in _TEXT_PARTS.get(channel, ())]
        for part, texts in parts:
            for lang in LANGUAGES:
                source = texts.get(lang) if isinstance(texts, dict) else None
                if not isinstance(source, str) or not source.strip():
                    raise _fail(path, f"{channel}.{'' if part == 'body' else part + '.'}{lang} is missing")
                try:
                    ast = _env.parse(source)
                except TemplateSyntaxError as exc:
                    raise _fail(path, f"{channel} {lang}: Jinja syntax error: {exc.message}") from None
                unknown = sorted(meta.find_undeclared_variables(ast) - set(variables))
                if unknown:
                    raise _fail(path, f"{channel} {lang} uses unknown variable {unknown[0]!r} "
                                      f"(declared: {', '.join(variables) or 'none'})")
                # Compiled once per template version (the catalogue is cached per process).
                compiled[(channel, lang, part)] = Substitution.of(ast) or _env.from_string(source)
    sample = data.get("sample") or {}
    missing_sample = [v for v in variables if v not in sample]
    if missing_sample:
        raise _fail(path, f"sample has no value for {missing_sample[0]!r} (needed for preview)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    tpl = MessageTemplate(str(data["id"]), data["version"], variables, sample, channels, path, digest, compiled)
    if data.get("notice"):
        _check_notice(path, tpl, data.get("sms_segments"), with_deadline=not data.get("no_deadline"))
    return tpl


# A notice (``notice: true``) is a message about a dossier the citizen can act on. On each of these channels,
# in each language, its body names the action, the deadline, the dossier code and the link to the dossier
# (a notice declaring ``no_deadline: true``, for a step that asks nothing by a date, names no deadline).
NOTICE_CHANNELS = ("sms", "zalo", "email", "inbox")
NOTICE_PARTS = ("action_{lang}", "deadline", "dossier_code", "link")


def _check_notice(path: Path, tpl: MessageTemplate, sms_segments: Any, *, with_deadline: bool = True) -> None:
    """Refuse a notice template that leaves out a part the citizen needs, or whose SMS is over its budget."""
    parts = NOTICE_PARTS if with_deadline else tuple(p for p in NOTICE_PARTS if p != "deadline")
    for channel in NOTICE_CHANNELS:
        if channel not in tpl.channels:
            raise _fail(path, f"a notice needs a {channel} message")
        for lang in LANGUAGES:
            used = meta.find_undeclared_variables(_env.parse(tpl.channels[channel][lang]))
            for part in parts:
                if part.format(lang=lang) not in used:
                    raise _fail(path, f"{channel} {lang} leaves out {part.format(lang=lang)!r}: a notice names "
                                      "the action, the deadline, the dossier code and the link")
    if not isinstance(sms_segments, int) or sms_segments < 1:
        raise _fail(path, "a notice needs sms_segments: the most SMS segments its text may cost")
    for lang in LANGUAGES:  # the sample holds the longest values the senders fill in, the link included
        for unaccented in (False, True):
            cost = tpl.render("sms", lang, tpl.sample, unaccented=unaccented).sms
            if cost is not None and cost.segments > sms_segments:
                raise _fail(path, f"sms {lang} costs {cost.segments} segments with the sample values "
                                  f"({cost.encoding}, {cost.units} units); the budget is {sms_segments}")


def load_directory(directory: Path) -> dict[str, MessageTemplate]:
    """Load every ``*.yaml`` template of ``directory``; refuse duplicates."""
    found: dict[str, MessageTemplate] = {}
    for path in sorted(directory.glob("*.yaml")):
        tpl = load_template(path)
        if tpl.id in found:
            raise _fail(path, f"template id {tpl.id!r} is also used by {found[tpl.id].source.name}")
        found[tpl.id] = tpl
    return found


@lru_cache(maxsize=1)
def catalogue() -> dict[str, MessageTemplate]:
    """Return the built-in templates, loaded and validated once per process."""
    return load_directory(TEMPLATE_DIR)


def get_template(template_id: str) -> MessageTemplate:
    """Return the template ``template_id`` or raise NotFound."""
    tpl = catalogue().get(template_id)
    if tpl is None:
        raise NotFound(f"no message template {template_id!r}; known: {', '.join(sorted(catalogue()))}",
                       field="template_id")
    return tpl


def preview(template_id: str, channel: str, language: str, *, unaccented: bool = False) -> Rendered:
    """Render a template with its sample values."""
    tpl = get_template(template_id)
    return tpl.render(channel, language, tpl.sample, unaccented=unaccented)
