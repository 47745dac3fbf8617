"""One simulated firewall: its configuration tree (kept across sessions), saved
configuration, administrators, and the faults a test can inject. `Session` is one
login's CLI state machine; it is transport-free (the SSH server feeds it lines)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from tests.fwsim.dialects import Dialect, Line, display, load


@dataclass
class Faults:
    fail_on: str | None = None          # regex: the next configuration command matching it gets the vendor's error
    drop_after: int | None = None       # close the connection after this many configuration commands (once)
    password_change: bool = False       # the administrator must change the password at login
    hrp: str = ""                       # "HRP_M" on the master of an HRP pair


@dataclass
class Device:
    dialect: Dialect
    hostname: str
    users: dict[str, str]
    config: list[Line] = field(default_factory=list)
    startup: str = ""
    faults: Faults = field(default_factory=Faults)
    commands: list[str] = field(default_factory=list)    # every line received, for tests
    sessions: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_text(cls, dialect: Dialect, hostname: str, users: dict[str, str], text: str = "") -> Device:
        dev = cls(dialect, hostname, users)
        dev.config = load(dialect, text)
        dev.startup = dev.running()
        return dev

    def running(self) -> str:
        return display(self.dialect, self.config)

    def can_login(self, user: str, password: str) -> bool:
        """As the device decides: the right password, an administrator of that name in the
        configuration, and the SSH server not switched off."""
        if self.users.get(user) != password:
            return False
        lines = [line.text for line in _walk(self.config)]
        if self.dialect.ssh_off and self.dialect.ssh_off in lines:
            return False
        return self.dialect.admin_line.format(user=user) in lines


class Closed(Exception):
    """The device ends the session (abrupt: drops the connection without a word)."""

    def __init__(self, message: str = "", abrupt: bool = False):
        super().__init__(message)
        self.abrupt = abrupt


class Session:
    """The CLI of one login: answers each line with output and the next prompt."""

    def __init__(self, device: Device):
        self.dev, self.d = device, device.dialect
        self.path: list[tuple[str, Line | None]] | None = None   # None: user view; else (view, node) stack
        self.paging = True
        self.pending: list[tuple[str, str]] = []                 # dialog questions still to answer
        self.dialog_ok = True
        self.config_commands = 0
        self.changing_password = device.faults.password_change

    # -- prompts ---------------------------------------------------------------

    def banner(self) -> str:
        if self.changing_password:
            return self.d.password_change
        return "\n" + self.prompt()

    def prompt(self) -> str:
        hrp = self.dev.faults.hrp
        if self.path is None:
            return self.d.user_prompt(self.dev.hostname, hrp)
        return self.d.config_prompt(self.dev.hostname, hrp, [v for v, _ in self.path])

    # -- input -----------------------------------------------------------------

    def feed(self, raw: str) -> str:
        """Output for one input line (ending with the next prompt). Raises Closed."""
        self.dev.commands.append(raw)
        line = " ".join(raw.strip().split())
        if self.changing_password:
            # The account may not be used until its password is changed by hand.
            raise Closed("Error: The password must be changed before the account can be used.\n")
        if self.pending:
            question, expected = self.pending.pop(0)
            self.dialog_ok = self.dialog_ok and (line or expected).lower().startswith(expected.lower())
            if self.pending:
                return self.pending[0][0]
            return (self.d.saved if self.dialog_ok else "Info: Operation aborted.") + "\n" + self.prompt()
        with self.dev.lock:
            out = self._command(line)
        if self.pending:            # a question: the answer comes before any prompt
            return out
        return (out + "\n" if out else "") + self.prompt()

    def _command(self, line: str) -> str:
        if not line:
            return ""
        if line in self.d.show:
            return self._paged(self.dev.running())
        if line in self.d.paging_off:
            self.paging = False
            return ""
        if self.path is None:
            return self._user(line)
        return self._config(line)

    def _paged(self, text: str) -> str:
        # Paging is on until the session turns it off; a reader that did not gets the
        # first screen and the pager's prompt (and the rest is lost to it).
        lines = text.rstrip("\n").split("\n")
        if self.paging and len(lines) > 24:
            return "\n".join(lines[:24]) + "\n  ---- More ----"
        return "\n".join(lines)

    def _user(self, line: str) -> str:
        if line == self.d.enter_config:
            self.path = [("system", None)]
            return "Enter system view, return user view with return command." if self.d.negation == "undo" else ""
        if line == self.d.save:
            if self.d.save_dialog:
                self.pending, self.dialog_ok = list(self.d.save_dialog), True
                self.dev.startup = self.dev.running()
                return self.pending[0][0].rstrip("\n")
            self.dev.startup = self.dev.running()
            return self.d.saved
        if line in ("quit", "exit"):
            raise Closed("")
        return self.d.unknown

    def _config(self, line: str) -> str:
        view, node = self.path[-1]
        if line == self.d.leave_config:
            self.path = None
            return ""
        if line == self.d.view_exit:
            self.path.pop()
            if not self.path:
                self.path = None
            return ""
        if self.d.save == line:
            return self._user(line)
        self.config_commands += 1
        faults = self.dev.faults
        if faults.drop_after is not None and self.config_commands > faults.drop_after:
            faults.drop_after = None
            raise Closed(abrupt=True)
        if faults.fail_on and re.fullmatch(faults.fail_on, line):
            faults.fail_on = None           # once: the rollback that follows may need the same command
            return self.d.unknown
        children = node.children if node is not None else self.dev.config
        words = line.split()
        if words[0] == self.d.negation:
            return self._negate(view, children, " ".join(words[1:]))
        child_view = self.d.header(view, line)
        if child_view is not None:
            found = next((c for c in children if c.words == _words(line)), None)
            if found is None:
                found = Line(line, view=child_view)
                children.append(found)
            self.path.append((child_view, found))
            return ""
        if not self.d.leaf(view, line):
            return self.d.unknown
        self._set(view, children, line)
        return ""

    def _set(self, view: str, children: list[Line], line: str) -> None:
        for index, child in enumerate(children):
            if child.view is not None:
                continue
            if child.text == line:
                return
            if line in self.d.toggles and child.text == f"{self.d.negation} {line}":
                children[index] = Line(line)
                return
            single = next((p for p in self.d.views[view].single if _starts(line, p)), None)
            if single and _starts(child.text, single):
                children[index] = Line(line)
                return
        children.append(Line(line))

    def _negate(self, view: str, children: list[Line], rest: str) -> str:
        target = _words(rest)
        matches = [c for c in children if c.words[:len(target)] == target]
        if rest in self.d.toggles:
            for c in matches:
                children.remove(c)
            if view == "system":
                children.append(Line(f"{self.d.negation} {rest}"))
            return ""
        if not matches:
            if self.d.leaf(view, rest) or self.d.header(view, rest) or any(
                    re.match(p.split(" ")[0], rest) for p in self.d.views[view].single):
                return self.d.missing
            return self.d.unknown
        for c in matches:
            children.remove(c)
        return ""


def _walk(lines: list[Line]):
    for line in lines:
        yield line
        yield from _walk(line.children)


def _words(text: str) -> list[str]:
    return [w.strip('"') for w in text.split()]


def _starts(line: str, prefix: str) -> bool:
    return _words(line)[:len(prefix.split())] == prefix.split()
