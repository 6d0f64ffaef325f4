"""Where a key of a TOML file is written, so a message can say "line 12".

tomllib reports a line only for syntax errors. For a value that parses but is wrong
(an unknown category, a missing column) the loader asks :func:`line_of` for the line of
the key path it is complaining about. The scan reads table headers and ``key =`` lines
(dotted and quoted keys included) and skips multi-line strings; a key inside an inline
table is found as the line of the inline table, which is where it is written.
"""

from __future__ import annotations

from dataclasses import dataclass

KeyPath = tuple[str, ...]


@dataclass(frozen=True)
class TomlLines:
    """The first line (1-based) of every table header and key in one TOML text."""

    headers: dict[KeyPath, list[int]]
    keys: dict[KeyPath, int]

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path``, or of the nearest enclosing key or table written."""
        for end in range(len(path), 0, -1):
            prefix = path[:end]
            if prefix in self.keys:
                return self.keys[prefix]
            if prefix in self.headers:
                return self.headers[prefix][0]
        return None

    def duplicate_headers(self) -> list[tuple[KeyPath, int, int]]:
        """Tables declared twice: (path, first line, second line)."""
        return [(path, lines[0], lines[1]) for path, lines in self.headers.items()
                if len(lines) > 1]


def scan(text: str) -> TomlLines:
    headers: dict[KeyPath, list[int]] = {}
    keys: dict[KeyPath, int] = {}
    table: KeyPath = ()
    in_string: str | None = None  # the closing quotes of a multi-line string we are in
    for number, raw in enumerate(text.splitlines(), start=1):
        if in_string is not None:
            if raw.count(in_string) % 2 == 1:
                in_string = None
            continue
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            array = line.startswith("[[")
            inner = line[2:] if array else line[1:]
            close = _key_end(inner, "]")
            path = _split_key(inner[:close]) if close is not None else None
            if path:
                table = path
                # Each [[x]] element is a new table: record only real re-declarations.
                if not array or path not in headers:
                    headers.setdefault(path, []).append(number)
            continue
        equals = _key_end(line, "=")
        if equals is None:
            continue
        key = _split_key(line[:equals])
        if key:
            keys.setdefault(table + key, number)
        value = line[equals + 1:]
        for quotes in ('"""', "'''"):
            if value.count(quotes) % 2 == 1:
                in_string = quotes
                break
    return TomlLines(headers=headers, keys=keys)


def _key_end(text: str, stop: str) -> int | None:
    """Index of the first ``stop`` character outside quotes, or None."""
    quote: str | None = None
    for index, char in enumerate(text):
        if quote:
            if char == quote:
                quote = None
            elif char == "\\" and quote == '"':
                continue
        elif char in "\"'":
            quote = char
        elif char == stop:
            return index
    return None


def _split_key(text: str) -> KeyPath | None:
    """``a."b.c" . d`` → ("a", "b.c", "d"); None if it is not a plain key."""
    parts: list[str] = []
    current: list[str] = []
    quote: str | None = None
    for char in text:
        if quote:
            if char == quote:
                quote = None
            else:
                current.append(char)
        elif char in "\"'":
            quote = char
        elif char == ".":
            parts.append("".join(current))
            current = []
        elif not char.isspace():  # bare keys hold no spaces; around dots they are layout
            current.append(char)
    parts.append("".join(current))
    if quote or any(not part for part in parts):
        return None
    return tuple(parts)
