"""The commands that take a device from its running configuration to the desired one
(pure). Both sides are compared as mzops renders them, so only what mzops manages is
touched: `render(parse(running))` against `render(desired)`, as trees of views.

Within a view, lines are matched by a key: a single-valued setting (`idle-timeout`,
`ssh timeout`) keys on its name, so a new value is sent over the old one instead of
removing it first; `undo`/`no` forms key with their positive form. Additions and
changes go first, in the desired order (objects exist before the rules that use
them), removals last (a rule stops using an object before the object goes; a new
management source exists before the old one is removed). Rule lists of a rule set are
ordered: from the first rule that differs, the running rules are removed and the
desired ones re-created in order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mzops.firewall import tree


@dataclass(frozen=True)
class Syntax:
    """What the delta needs to know of a vendor's CLI."""

    negation: str                                   # undo | no
    view_exit: str                                  # quit | exit: back to the parent view
    # Word prefixes of settings that hold one value (the key is the prefix).
    single_valued: tuple[tuple[str, ...], ...] = ()
    # Views that always exist (built in): never negated as a whole, emptied instead.
    persistent: tuple[str, ...] = ()                # regexes on the header line
    # Views whose rule children are ordered: header regex -> rule header regex.
    ordered: dict[str, str] = field(default_factory=dict)
    # How to negate a view header: regex -> replacement of the header's words.
    negate_header: tuple[tuple[str, str], ...] = ()
    # Top-level headers that open a view even when empty (zone "x" on StoneOS): left with view_exit.
    views: tuple[str, ...] = ()
    # How to negate a setting whose device form mzops's rendering does not repeat word
    # for word: regex -> replacement (StoneOS `admin host any any` -> `admin host any`).
    negate_leaf: tuple[tuple[str, str], ...] = ()
    # Single-valued only inside some views: header regex -> word prefixes.
    scoped_single: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)

    def single(self, header: str) -> tuple[tuple[str, ...], ...]:
        scoped = [p for h, ps in self.scoped_single.items() if header and re.fullmatch(h, header) for p in ps]
        return self.single_valued + tuple(scoped)


def delta(running_text: str, desired_text: str, syntax: Syntax) -> list[str]:
    """Commands, from the configuration view, in the order they are to be sent (a merge
    is a desired configuration made by model.merged, then this)."""
    return _view(tree.parse(running_text).children, tree.parse(desired_text).children, syntax, "")


def _key(node: tree.Node, syntax: Syntax, header: str) -> tuple[str, ...]:
    words = tuple(node.words)
    if words[:1] == (syntax.negation,):
        words = words[1:]
    if not node.children:  # views key on their whole header (acl number 2999)
        for prefix in syntax.single(header):
            if words[:len(prefix)] == prefix:
                return prefix
    return words


def _same(a: tree.Node, b: tree.Node) -> bool:
    return a.text.strip() == b.text.strip() and len(a.children) == len(b.children) and all(
        _same(x, y) for x, y in zip(a.children, b.children))


def _all(node: tree.Node, syntax: Syntax, top: bool = False) -> list[str]:
    """NODE as it is entered from scratch."""
    if not node.children and not (top and any(re.fullmatch(v, node.text.strip()) for v in syntax.views)):
        return [node.text.strip()]
    out = [node.text.strip()]
    for child in node.children:
        out += _all(child, syntax)
    return out + [syntax.view_exit]


def _negate(node: tree.Node, syntax: Syntax, header: str) -> list[str]:
    words = node.text.strip()
    if words.split()[0] == syntax.negation:
        # The running side says "undo X" and mzops is silent: leave the device's choice.
        return []
    if node.children:
        for pattern, replacement in syntax.negate_header:
            if re.fullmatch(pattern, words):
                words = re.sub(pattern, replacement, words)
                break
        return [f"{syntax.negation} {words}"]
    key = _key(node, syntax, header)
    if key in syntax.single(header):  # `undo idle-timeout`, whatever the value
        return [f"{syntax.negation} {' '.join(key)}"]
    for pattern, replacement in syntax.negate_leaf:
        if re.fullmatch(pattern, words):
            return [f"{syntax.negation} {re.sub(pattern, replacement, words)}"]
    return [f"{syntax.negation} {words}"]


def _persistent(node: tree.Node, syntax: Syntax) -> bool:
    """Built in (a default zone, the policy view): emptied, never removed."""
    return any(re.fullmatch(p, node.text.strip()) for p in syntax.persistent)


def _view(running: list[tree.Node], desired: list[tree.Node], syntax: Syntax, header: str) -> list[str]:
    rule_pattern = next((r for h, r in syntax.ordered.items() if header and re.fullmatch(h, header)), None)
    if rule_pattern is not None:
        is_rule = lambda n: re.fullmatch(rule_pattern, n.text.strip()) is not None  # noqa: E731
        out = _ordered([n for n in running if is_rule(n)], [n for n in desired if is_rule(n)], syntax)
        return _unordered([n for n in running if not is_rule(n)], [n for n in desired if not is_rule(n)],
                          syntax, header) + out
    return _unordered(running, desired, syntax, header)


def _ordered(running: list[tree.Node], desired: list[tree.Node], syntax: Syntax) -> list[str]:
    first = 0
    while first < min(len(running), len(desired)) and _same(running[first], desired[first]):
        first += 1
    out: list[str] = []
    for node in running[first:]:
        out += _negate(node, syntax, "")
    for node in desired[first:]:
        out += _all(node, syntax)
    return out


def _unordered(running: list[tree.Node], desired: list[tree.Node], syntax: Syntax, header: str) -> list[str]:
    by_key: dict[tuple[str, ...], tree.Node] = {}
    for node in running:
        by_key.setdefault(_key(node, syntax, header), node)
    wanted = {_key(node, syntax, header) for node in desired}
    out: list[str] = []
    for node in desired:
        have = by_key.get(_key(node, syntax, header))
        if have is None:
            out += _all(node, syntax, top=not header)
        elif _same(have, node):
            continue
        elif node.children or have.children:
            inner = _view(have.children, node.children, syntax, node.text.strip())
            if have.text.strip() != node.text.strip():
                out += _all(node, syntax, top=not header)       # same key, other header: enter it anew
            elif inner:
                out += [node.text.strip(), *inner, syntax.view_exit]
        else:
            out.append(node.text.strip())      # a single value sent over the old one
    for node in running:
        if _key(node, syntax, header) in wanted:
            continue
        if _persistent(node, syntax):
            inner = _view(node.children, [], syntax, node.text.strip())
            if inner:
                out += [node.text.strip(), *inner, syntax.view_exit]
        else:
            out += _negate(node, syntax, header)
    return out


def lockouts(commands: list[str], patterns: tuple[str, ...], account: str) -> list[str]:
    """The commands that would cut the automation ACCOUNT off (SSH off, its account or
    management access removed): refused before anything is sent."""
    found = []
    for pattern in patterns:
        regex = re.compile(pattern.replace("{account}", re.escape(account)))
        found += [c for c in commands if regex.fullmatch(c.strip())]
    return found
