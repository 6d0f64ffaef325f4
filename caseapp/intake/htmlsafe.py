"""Reading HTML mail safely: sanitized HTML that loads nothing, and plain text.

:func:`sanitize_html` keeps a small set of formatting tags and attributes (nh3) and
removes everything that could fetch something from the network when the message is
shown: images, frames, objects, stylesheets, ``url()`` and ``@import`` in styles,
scripts, forms, meta refreshes. It also says what it removed, for the viewer's banner.
"""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

import nh3

# Tags kept (their attributes are limited further below). No img, no media, no forms.
_TAGS = frozenset(
    {
        "a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "center", "cite",
        "code", "col", "colgroup", "dd", "del", "dfn", "div", "dl", "dt", "em", "font",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "ins", "kbd", "li", "mark", "ol",
        "p", "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup",
        "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul", "var",
    }
)  # fmt: skip
# Tags removed together with everything inside them.
_DROP_WITH_CONTENT = frozenset(
    {
        "script", "style", "title", "template", "iframe", "frame", "frameset", "object",
        "embed", "applet", "svg", "math", "audio", "video", "noscript", "noembed",
        "noframes", "head", "xmp", "textarea", "select",
    }
)  # fmt: skip
_ATTRIBUTES = {
    "*": {"style", "title", "dir", "lang", "align"},
    "a": {"href"},
    "font": {"color", "face", "size"},
    "table": {"border", "cellpadding", "cellspacing", "width"},
    "td": {"colspan", "rowspan", "valign", "width", "nowrap"},
    "th": {"colspan", "rowspan", "valign", "width", "nowrap"},
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
    "ol": {"start", "type"},
    "li": {"value"},
}
# CSS properties kept in style attributes: none of them can take an image.
_STYLE_PROPERTIES = frozenset(
    {
        "color", "font", "font-family", "font-size", "font-style", "font-weight",
        "font-variant", "text-align", "text-decoration", "text-indent", "text-transform",
        "line-height", "letter-spacing", "word-spacing", "white-space", "vertical-align",
        "margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
        "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
        "border", "border-top", "border-right", "border-bottom", "border-left",
        "border-color", "border-style", "border-width", "border-collapse",
        "border-spacing", "width", "height", "max-width", "min-width", "direction",
        "background-color", "display",
    }
)  # fmt: skip
# Anything in a style value that could load something, or hide such a thing (escapes).
_CSS_DANGER = re.compile(
    r"url\s*\(|@import|expression\s*\(|image-set|\\|-moz-binding|behavior", re.I
)
_REMOTE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:|//)", re.I)
_HTTP = re.compile(r"^\s*(?:https?:|//)", re.I)


def _style_filter(element: str, attribute: str, value: str) -> str | None:
    if attribute != "style":
        return value
    kept = [decl for decl in value.split(";") if decl.strip() and not _CSS_DANGER.search(decl)]
    return "; ".join(d.strip() for d in kept) or None


_CLEANER = nh3.Cleaner(
    tags=set(_TAGS),
    clean_content_tags=set(_DROP_WITH_CONTENT),
    attributes={tag: set(attrs) for tag, attrs in _ATTRIBUTES.items()},
    attribute_filter=_style_filter,
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer nofollow",
    filter_style_properties=set(_STYLE_PROPERTIES),
)

_BLOCK_TAGS = frozenset(
    {
        "p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table",
        "blockquote", "pre", "hr", "ul", "ol", "dl", "dt", "dd", "section", "article",
        "header", "footer", "address", "center", "form",
    }
)  # fmt: skip
# Elements whose content is not text to read (void elements excluded: they have no end).
_INVISIBLE = _DROP_WITH_CONTENT - {"frame", "embed"}


_COUNTED = frozenset(
    {"img", "iframe", "frame", "object", "embed", "applet", "video", "audio", "svg", "link"}
)


class _Reader(HTMLParser):
    """One pass over the original HTML: counts what will be blocked and collects text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocked: Counter[str] = Counter()
        self.chunks: list[str] = []
        self._hidden = 0
        self._pre = 0
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._count(tag, {name: value or "" for name, value in attrs})
        if tag == "body":  # a head left open ends here
            self._hidden = 0
        if tag in _INVISIBLE:
            self._hidden += 1
            self._in_style = tag == "style"
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")
            self._pre += tag == "pre"
            if tag == "li":
                self.chunks.append("- ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._count(tag, {name: value or "" for name, value in attrs})
        if tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE:
            self._hidden = max(0, self._hidden - 1)
            self._in_style = False
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")
            if tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.blocked["style import"] += len(re.findall(r"@import", data, re.I))
        if not self._hidden:
            self.chunks.append(data if self._pre else re.sub(r"[ \t\r\n\f]+", " ", data))

    def _count(self, tag: str, attrs: dict[str, str]) -> None:
        b = self.blocked
        if tag == "img":
            src = attrs.get("src", "")
            if _HTTP.match(src) or "srcset" in attrs:
                b["remote image"] += 1
            elif src.lower().strip().startswith("cid:"):
                b["embedded image"] += 1
            else:
                b["image"] += 1
        elif tag in ("iframe", "frame"):
            b["frame"] += 1
        elif tag in ("object", "embed", "applet"):
            b["embedded object"] += 1
        elif tag in ("video", "audio"):
            b["media player"] += 1
        elif tag == "svg":
            b["SVG drawing"] += 1
        elif tag == "style":
            b["stylesheet"] += 1
        elif tag == "link":
            rel = attrs.get("rel", "").lower()
            b["stylesheet" if "stylesheet" in rel else "linked resource"] += 1
        elif tag == "script":
            b["script"] += 1
        elif tag == "form":
            b["form"] += 1
        elif tag == "meta" and attrs.get("http-equiv", "").lower() == "refresh":
            b["automatic redirect"] += 1
        elif tag == "base":
            b["base address"] += 1
        if _REMOTE.match(attrs.get("background", "")):
            b["remote background image"] += 1
        if tag not in _COUNTED and any(
            _HTTP.match(attrs.get(name, "")) for name in ("src", "poster", "data", "srcset")
        ):
            b["remote resource"] += 1
        style = attrs.get("style", "")
        if style:
            b["CSS url() reference"] += len(re.findall(r"url\s*\(", style, re.I))
            b["style import"] += len(re.findall(r"@import", style, re.I))
        if any(name.startswith("on") for name in attrs):
            b["event handler"] += sum(1 for name in attrs if name.startswith("on"))


def _plural(noun: str, n: int) -> str:
    if n == 1:
        return f"1 {noun}"
    if noun.endswith(("ss", "sh", "ch", "x")):
        return f"{n} {noun}es"
    return f"{n} {noun}s"


def _read(html: str) -> _Reader:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader


def _tidy_text(chunks: list[str]) -> str:
    text = "".join(chunks).replace("\xa0", " ")
    lines = [line.strip() for line in text.splitlines()]
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return out.strip()


def sanitize_html(html: str) -> tuple[str, tuple[str, ...]]:
    """Return (safe HTML that loads nothing, descriptions of what was removed)."""
    reader = _read(html)
    blocked = tuple(_plural(noun, n) for noun, n in reader.blocked.items() if n)
    return _CLEANER.clean(html), blocked


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body (no markup, no scripts or styles)."""
    return _tidy_text(_read(html).chunks)


def sanitize_and_text(html: str) -> tuple[str, tuple[str, ...], str]:
    """:func:`sanitize_html` and :func:`html_to_text` in one pass over the markup."""
    reader = _read(html)
    blocked = tuple(_plural(noun, n) for noun, n in reader.blocked.items() if n)
    return _CLEANER.clean(html), blocked, _tidy_text(reader.chunks)
