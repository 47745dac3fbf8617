"""YAML loading that remembers where every key came from.

Hand-edited files (inventory, account register, baselines, waivers) must fail with a
message naming the file and line at fault, so the loader records the line of each
mapping key and sequence item by its path, and refuses duplicate keys, which plain
PyYAML silently lets the last one win.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mzops.errors import InputError

KeyPath = tuple[Any, ...]


# libyaml's parser (PyYAML's CSafeLoader) where PyYAML was built with it, as PyPI's wheels
# are: ten times faster than the pure-Python one, and its nodes keep their marks (lines).
_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SAFE):  # type: ignore[misc, valid-type]
    """SafeLoader that keeps an impossible date (2027-02-30) as text, so the schema
    check can name it, instead of crashing inside PyYAML."""

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


class Located:
    """Parsed YAML plus the line (1-based) of each key path, e.g. ('accounts', 3, 'person')."""

    def __init__(self, path: Path, data: Any, lines: dict[KeyPath, int]):
        self.path = path
        self.data = data
        self.lines = lines

    def line_of(self, keypath: KeyPath) -> int | None:
        """Line of the deepest known prefix of keypath."""
        keypath = tuple(keypath)
        while keypath:
            if keypath in self.lines:
                return self.lines[keypath]
            keypath = keypath[:-1]
        return None

    def where(self, keypath: KeyPath = ()) -> str:
        line = self.line_of(keypath)
        return f"{self.path}:{line}" if line else str(self.path)

    def error(self, keypath: KeyPath, message: str) -> InputError:
        key = ".".join(str(k) for k in keypath)
        return InputError(f"{self.where(keypath)}: {key + ': ' if key else ''}{message}")


def _walk(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], source: Path) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            line = key_node.start_mark.line + 1
            if key == "<<":  # merge keys are YAML's own way to repeat
                _walk(value_node, path, lines, source)
                continue
            if key in seen:
                dotted = ".".join(str(k) for k in path + (key,))
                raise InputError(
                    f"{source}:{line}: {dotted}: duplicate key (first defined on line {seen[key]})"
                )
            seen[key] = line
            lines[path + (key,)] = line
            _walk(value_node, path + (key,), lines, source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[path + (index,)] = item.start_mark.line + 1
            _walk(item, path + (index,), lines, source)


def load(path: Path | str) -> Located:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    loader = _Loader(text)
    try:
        # parsed once: the node tree gives the lines, the same tree the data
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise InputError(f"{path}{line}: malformed YAML: {exc.problem or exc}") from None
    except yaml.reader.ReaderError as exc:   # a character YAML does not allow (a control character)
        raise InputError(f"{path}:{_line_at(text, exc)}: malformed YAML: character "
                         f"{_character(exc)!r} is not allowed in YAML") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: malformed YAML: {' '.join(str(exc).split())}") from None
    finally:
        loader.dispose()
    lines: dict[KeyPath, int] = {}
    if node is not None:
        # ScalarNode keys keep their text; map them back to the constructed keys so
        # a key like `2027` (an int) is found under the key the data really has.
        _walk(node, (), lines, path)
        lines = _retype_keys(data, lines)
    return Located(path, data, lines)


def _line_at(text: str, exc: yaml.reader.ReaderError) -> int:
    """libyaml counts the bad character's position in the UTF-8 bytes it read, PyYAML's
    own reader in characters."""
    if isinstance(exc.character, int):
        return text.encode("utf-8").count(b"\n", 0, exc.position) + 1
    return text.count("\n", 0, exc.position) + 1


def _character(exc: yaml.reader.ReaderError) -> str:
    return chr(exc.character) if isinstance(exc.character, int) else exc.character


def _retype_keys(data: Any, lines: dict[KeyPath, int]) -> dict[KeyPath, int]:
    """Composed keys are strings; constructed ones may be ints, bools or dates."""
    out: dict[KeyPath, int] = {}
    for keypath, line in lines.items():
        node, typed = data, []
        for part in keypath:
            if isinstance(node, dict):
                # a text key as it was written (the usual case) is found at once; only an
                # int, bool or date key needs the search
                match = part if part in node else next(
                    (k for k in node if str(k) == str(part) or _yaml_str(k) == part), part)
                typed.append(match)
                node = node.get(match)
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                typed.append(part)
                node = node[part]
            else:
                typed.append(part)
                node = None
        out[tuple(typed)] = line
    return out


def _yaml_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
