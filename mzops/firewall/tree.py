"""Running configurations as trees of lines, by indentation.

Huawei VRP/USG and H3C Comware indent one space per view and separate blocks with
`#`; Hillstone StoneOS indents two spaces and closes a view with `exit`. Either way a
line's children are the lines indented deeper beneath it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Node:
    text: str
    line: int                       # 1-based line number in the configuration
    children: list[Node] = field(default_factory=list)

    @property
    def words(self) -> list[str]:
        return split(self.text)

    def find(self, *prefix: str) -> list[Node]:
        """Children whose first words are PREFIX (case-sensitive, quotes stripped)."""
        return [c for c in self.children if c.words[:len(prefix)] == list(prefix)]

    def first(self, *prefix: str) -> Node | None:
        found = self.find(*prefix)
        return found[0] if found else None

    def evidence(self) -> str:
        return f"line {self.line}: {self.text.strip()}"


def split(text: str) -> list[str]:
    """Words of a line; "quoted words" keep their spaces, without the quotes."""
    out, word, quoted = [], "", False
    for ch in text.strip():
        if ch == '"':
            quoted = not quoted
        elif ch.isspace() and not quoted:
            if word:
                out.append(word)
            word = ""
        else:
            word += ch
    if word:
        out.append(word)
    return out


def parse(text: str, ignore: tuple[str, ...] = ("#", "!", "return", "exit", "end", "quit")) -> Node:
    """The configuration as a tree under a root node (line 0)."""
    root = Node("", 0)
    stack: list[tuple[int, Node]] = [(-1, root)]
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        stripped = line.strip()
        if stripped == "#":  # Huawei/H3C end a block with it: what follows is top level
            stack = [(-1, root)]
            continue
        if not stripped or stripped in ignore or stripped.startswith(("#", "!")):
            continue
        indent = len(line) - len(line.lstrip(" "))
        node = Node(line, number)
        while stack[-1][0] >= indent:
            stack.pop()
        stack[-1][1].children.append(node)
        stack.append((indent, node))
    return root
