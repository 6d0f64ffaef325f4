"""Letter texts: templates kept as data, rendered in Jinja2's sandbox.

A template file (``resources/letters/<language>/<kind>.toml``) holds a ``title``, a
``subject`` line and a ``body``. The body is written in a small block language that the
layout understands and nothing else:

    # A heading
    A paragraph, wrapped; **bold** inside it.      (blank lines separate blocks)
    - a bullet item
    | a | table | row |                             (the first row is the header)

Placeholders come from the letter's context ({{ case.ref }}, {% for row in deleted %}).
Nothing a requester wrote can change the letter's structure or markup: every value is
made plain on its way in (line breaks folded to spaces, so it cannot start a heading,
bullet or table row; ReportLab's markup characters and the block language's own ``|``
and ``*`` turned into character references). The sandbox stops a template from reaching
anything but the plain values it is given, and an unknown placeholder is an error, never
an empty gap: ``check_template`` finds both before a template is saved.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

from caseapp.errors import ConfigError


class TemplateProblem(ConfigError):
    """A template that cannot produce a letter: its syntax, or an unknown placeholder."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class LetterTemplate:
    kind: str
    language: str
    title: str
    subject: str
    body: str
    source: str
    """Where it came from (a file path, or "edited") for messages."""
    text: str = ""
    """The whole template file, to tell the line a problem is on."""
    body_skipped: int = 0
    """Blank lines dropped from the start of the body."""


@dataclass(frozen=True)
class RenderedText:
    title: str
    subject: str
    body: str
    """In the block language, every value already made plain."""


_REFERENCES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "|": "&#124;",
               "*": "&#42;", "#": "&#35;", "-": "&#45;"}


_INVISIBLE = dict.fromkeys([*range(0x00, 0x20), *range(0x7F, 0xA0),
                            *range(0x202A, 0x202F), *range(0x2066, 0x206A)])
"""Control characters and bidirectional overrides: a name holding U+202E could show a
line of the letter reversed. (Line breaks and tabs are folded to spaces first.)"""


def visible(value: Any) -> str:
    """The value on one line without control characters or bidirectional overrides."""
    return " ".join(str(value).split()).translate(_INVISIBLE)


def plain(value: Any) -> str:
    """A value as text that prints as itself: one line, no markup."""
    if value is None:
        return ""
    return "".join(_REFERENCES.get(char, char) for char in visible(value))


def one_line(value: Any) -> str:
    """A value for the title and subject (metadata, an email subject): one line."""
    return "" if value is None else visible(value)


def _environment(finalize: Any) -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False,
                                finalize=finalize, keep_trailing_newline=True,
                                trim_blocks=True, lstrip_blocks=True)


_BODY = _environment(plain)
_LINE = _environment(one_line)


@lru_cache(maxsize=256)
def _compiled(part: str, text: str) -> jinja2.Template:
    """Compiling is most of a template's cost; a batch renders the same few texts."""
    return (_BODY if part == "body" else _LINE).from_string(text)


def parse_template(text: str, kind: str, language: str, source: str) -> LetterTemplate:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # Python 3.11's error has no lineno; its message ends "(at line N, column M)".
        found = re.search(r"at line (\d+)", str(error))
        raise TemplateProblem(f"{source}: {error}", getattr(error, "lineno", None) or (
            int(found.group(1)) if found else None)) from None
    values = {}
    for key in ("title", "subject", "body"):
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise TemplateProblem(f"{source}: '{key}' is missing or empty")
        values[key] = value
    unknown = set(data) - {"title", "subject", "body"}
    if unknown:
        raise TemplateProblem(f"{source}: unknown key(s) {', '.join(sorted(unknown))}")
    body = values["body"]
    skipped = len(body) - len(body.lstrip("\n"))
    return LetterTemplate(kind, language, values["title"], values["subject"],
                          body.strip("\n") + "\n", source, text, skipped)


def load_template(folder: Path, kind: str, language: str) -> LetterTemplate:
    return load_template_file(folder / language / f"{kind}.toml", kind, language)


def load_template_file(path: Path, kind: str, language: str) -> LetterTemplate:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TemplateProblem(f"The letter text {path} cannot be read ({error.strerror})"
                              ) from None
    return parse_template(text, kind, language, str(path))


def render(template: LetterTemplate, context: Mapping[str, Any]) -> RenderedText:
    """The template's three parts with the context's values, each made plain."""
    parts = {}
    for part in ("title", "subject", "body"):
        text = getattr(template, part)
        try:
            parts[part] = _compiled(part, text).render(**context)
        except jinja2.TemplateSyntaxError as error:
            line = _line_in_file(template, part, error.lineno)
            raise TemplateProblem(f"{template.source}, {part}, line {error.lineno}: "
                                  f"{error.message}", line) from None
        except jinja2.UndefinedError as error:
            where = _template_line(error)
            raise TemplateProblem(
                f"{template.source}, {part}{f', line {where}' if where else ''}: unknown "
                f"placeholder ({error.message}); the placeholders a letter knows are listed "
                "in resources/letters/README.md",
                _line_in_file(template, part, where) if where else None) from None
        except jinja2.exceptions.SecurityError as error:
            raise TemplateProblem(f"{template.source}, {part}: not allowed in a letter "
                                  f"({error})") from None
        except (TypeError, ValueError, ArithmeticError) as error:
            raise TemplateProblem(f"{template.source}, {part}: {error}") from None
    return RenderedText(parts["title"].strip(), parts["subject"].strip(), parts["body"])


def _template_line(error: BaseException) -> int | None:
    """The template line an error happened on: Jinja runs a template as code whose
    frames it names "<template>", with the template's own line numbers."""
    line = None
    trace = error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "<template>":
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


def _line_in_file(template: LetterTemplate, part: str, line: int) -> int | None:
    """The line in the template file of line ``line`` of one part (for the editor)."""
    text = template.text
    if not text and template.source.endswith(".toml"):
        try:
            text = Path(template.source).read_text(encoding="utf-8")
        except OSError:
            return None
    for number, row in enumerate(text.splitlines(), start=1):
        if row.replace(" ", "").startswith(f"{part}="):
            # A multi-line string starts on the line after its opening quotes.
            if row.rstrip().endswith(('"""', "'''")):
                skipped = template.body_skipped if part == "body" else 0
                return number + skipped + line
            return number
    return None


def check_template(template: LetterTemplate, sample: Mapping[str, Any]) -> RenderedText:
    """Check a template before it is ever used: every placeholder in every branch must be
    one a letter knows (found by reading the template, not only by rendering the
    sample's branches), then a render with a sample context holding every placeholder.
    Raises TemplateProblem (with the line) for a syntax error or an unknown placeholder."""
    for part in ("title", "subject", "body"):
        text = getattr(template, part)
        try:
            tree = (_BODY if part == "body" else _LINE).parse(text)
        except jinja2.TemplateSyntaxError as error:
            raise TemplateProblem(f"{template.source}, {part}, line {error.lineno}: "
                                  f"{error.message}",
                                  _line_in_file(template, part, error.lineno)) from None
        unknown = _Placeholders(sample).unknown(tree)
        if unknown:
            name, line = unknown[0]
            raise TemplateProblem(
                f"{template.source}, {part}, line {line}: unknown placeholder {name}; the "
                "placeholders a letter knows are listed in resources/letters/README.md",
                _line_in_file(template, part, line))
    return render(template, sample)


_ANYTHING = object()
"""What a placeholder stands for when the sample cannot say (loop, a set variable)."""


class _Placeholders:
    """Walks a template's syntax tree and finds the names and attributes the sample
    context does not have, in every branch, whatever the branch conditions."""

    def __init__(self, sample: Mapping[str, Any]) -> None:
        self.sample = sample
        self.found: list[tuple[str, int]] = []

    def unknown(self, tree: nodes.Template) -> list[tuple[str, int]]:
        self._visit(tree, {})
        return self.found

    def _visit(self, node: nodes.Node, scope: dict[str, Any]) -> None:
        if isinstance(node, nodes.For):
            item = self._resolve(node.iter, scope)
            element = item[0] if isinstance(item, list) and item else _ANYTHING
            inner = dict(scope, loop=_ANYTHING)
            for name in _names(node.target):
                inner[name] = element
            for child in node.body:
                self._visit(child, inner)
            if node.test is not None:
                self._visit(node.test, inner)
            for child in node.else_:
                self._visit(child, scope)
            return
        if isinstance(node, (nodes.Assign, nodes.AssignBlock)):
            for child in ([node.node] if isinstance(node, nodes.Assign) else node.body):
                self._visit(child, scope)
            for name in _names(node.target):
                scope[name] = _ANYTHING
            return
        if isinstance(node, (nodes.Name, nodes.Getattr, nodes.Getitem)):
            self._resolve(node, scope)
            return
        for child in node.iter_child_nodes():
            self._visit(child, scope)

    def _resolve(self, node: nodes.Node, scope: dict[str, Any]) -> Any:
        if isinstance(node, nodes.Name):
            if node.name in scope:
                return scope[node.name]
            if node.name in self.sample:
                return self.sample[node.name]
            self.found.append((node.name, node.lineno))
            return _ANYTHING
        if isinstance(node, (nodes.Getattr, nodes.Getitem)):
            key = node.attr if isinstance(node, nodes.Getattr) else (
                node.arg.value if isinstance(node.arg, nodes.Const) else None)
            if isinstance(node, nodes.Getitem) and not isinstance(node.arg, nodes.Const):
                self._visit(node.arg, scope)
            base = self._resolve(node.node, scope)
            if isinstance(base, Mapping) and isinstance(key, str):
                if key in base:
                    return base[key]
                self.found.append((f"{_dotted(node.node)}.{key}", node.lineno))
            return _ANYTHING
        self._visit(node, scope)
        return _ANYTHING


def _names(target: nodes.Node) -> list[str]:
    """The names a for or set binds (one, or a tuple of them)."""
    if isinstance(target, nodes.Name):
        return [target.name]
    return [name.name for name in target.find_all(nodes.Name)]


def _dotted(node: nodes.Node) -> str:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_dotted(node.node)}.{node.attr}"
    return "…"
