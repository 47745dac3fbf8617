"""Lines of configuration files as their programs read them: comments, blank lines and
backslash continuations, each kept with its file and line number for evidence."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    """One meaningful line of a file, for evidence: 'path:line: text'."""

    path: str
    number: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.number}: {self.text}"


def meaningful_lines(path: str, text: str, comment: str = "#") -> list[Line]:
    """Non-empty, non-comment lines, with backslash continuations joined."""
    out: list[Line] = []
    pending, start = "", 0
    for number, raw in enumerate(text.split("\n"), 1):
        raw = raw.rstrip("\r")
        if not pending:
            start = number
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        line = (pending + raw).strip()
        pending = ""
        if line and not line.startswith(comment):
            out.append(Line(path, start, line))
    return out


def keyvalues(path: str, text: str, sep: str | None = None) -> dict[str, tuple[str, Line]]:
    """KEY VALUE (or KEY=VALUE with sep='=') lines; the last setting wins."""
    out: dict[str, tuple[str, Line]] = {}
    for line in meaningful_lines(path, text):
        if sep:
            key, found, value = line.text.partition(sep)
            if not found:
                continue
        else:
            parts = line.text.split(None, 1)
            key, value = parts[0], parts[1] if len(parts) > 1 else ""
        out[key.strip()] = (value.strip().strip('"'), line)
    return out


def int_or_none(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.lstrip("-").isdigit() else None


def lines_of(text: str | None) -> list[str]:
    """A section's lines, split at newlines only (str.splitlines would also split at
    \\x1c-\\x1e and \\x85, which may sit inside a value)."""
    return [line for line in (text or "").split("\n") if line.strip()]


def libpam_conf(path: str, text: str, known: tuple[str, ...] | None = None,
                fold_case: bool = False) -> tuple[dict[str, tuple[str, Line]], str | None]:
    """`name = value` files as libpwquality (src/settings.c, read_config_file) and
    pam_faillock (faillock_config.c, read_config_file) read them: '#' starts a comment
    anywhere on a line, the name ends at white space or '=', the value follows the '='
    and white space; a bare name is a flag (value ''). With KNOWN, an unknown name stops
    the reading there, as libpwquality does (the second value is that name).
    Returns {name: (value, line)} and the name reading stopped at, if any."""
    out: dict[str, tuple[str, Line]] = {}
    for number, raw in enumerate(text.split("\n"), 1):
        body = raw.split("#", 1)[0].strip()
        if not body:
            continue
        name, value = _name_value(body)
        key = name.lower() if fold_case else name
        if known is not None and key not in known:
            return out, name
        out[key] = (value, Line(path, number, raw.strip()))
    return out, None


def _name_value(body: str) -> tuple[str, str]:
    """The name up to white space or '='; then white space and one '=' are skipped."""
    for i, ch in enumerate(body):
        if ch.isspace() or ch == "=":
            eq, j = ch == "=", i + 1
            while j < len(body) and (body[j].isspace() or (body[j] == "=" and not eq)):
                eq = eq or body[j] == "="
                j += 1
            return body[:i], body[j:]
    return body, ""
