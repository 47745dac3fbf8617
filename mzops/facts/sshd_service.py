"""The options sshd's service passes on its command line, which win over sshd_config.

RHEL 8 and its rebuilds start sshd as `sshd -D $OPTIONS $CRYPTO_POLICY`, with
CRYPTO_POLICY from /etc/crypto-policies/back-ends/opensshserver.config (the
system-wide crypto policy) and OPTIONS from /etc/sysconfig/sshd; Debian passes
$SSHD_OPTS from /etc/default/ssh. `sshd -T` run by the collector does not see them.

- systemd.service(5): of `ExecStart=` lines the last stands (an empty one resets);
  unit files in /etc/systemd/system replace the vendor's, drop-ins of NAME.d/ follow in
  name order. `$VAR` standing alone is split into words at whitespace, `${VAR}` is one
  word. systemd.exec(5): `EnvironmentFile=` values override `Environment=` ones, files
  read in order, a later file winning; `-` before the path means it may be missing.
- sshd(8) `-o option`: a line in sshd_config's format; options given on the command line
  are processed before the configuration file, and sshd_config(5) keeps the first value
  obtained for a keyword, so these win.
"""

from __future__ import annotations

import re
import shlex

from mzops.facts.base import Fact
from mzops.facts.text import Line

UNITS = ("sshd.service", "ssh.service")
UNIT_FOLDERS = ("/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")


def _unit_lines(facts) -> list[Line]:
    for unit in UNITS:
        main = next((f"{folder}/{unit}" for folder in UNIT_FOLDERS if facts.file(f"{folder}/{unit}") is not None),
                    None)
        if main is None:
            continue
        paths = [main] + sorted(facts.files(f"/etc/systemd/system/{unit}.d/*.conf"))
        out, section = [], ""
        for path in paths:
            for number, raw in enumerate((facts.file(path) or "").split("\n"), start=1):
                text = raw.strip()
                if not text or text[0] in "#;":
                    continue
                if text.startswith("["):
                    section = text
                elif section == "[Service]":
                    out.append(Line(path, number, text))
        return out
    return []


def _environment_file(facts, path: str) -> dict[str, tuple[str, Line]]:
    out: dict[str, tuple[str, Line]] = {}
    for number, raw in enumerate((facts.file(path) or "").split("\n"), start=1):
        text = raw.strip()
        if not text or text[0] in "#;" or "=" not in text:
            continue
        key, _, value = text.partition("=")
        try:
            words = shlex.split(value, comments=False)
        except ValueError:
            words = [value]
        out[key.strip()] = (" ".join(words), Line(path, number, text))
    return out


def _expand(word: str, env: dict[str, tuple[str, Line]], used: list[Line]) -> list[str]:
    alone = re.fullmatch(r"\$(\w+)", word)
    if alone:
        value = env.get(alone.group(1))
        if value is None:
            return []
        used.append(value[1])
        return value[0].split()

    def one(found: re.Match) -> str:
        value = env.get(found.group(1) or found.group(2))
        if value is None:
            return ""
        used.append(value[1])
        return value[0]
    return [re.sub(r"\$\{(\w+)\}|\$(\w+)", one, word)]


def options(facts) -> dict[str, tuple[str, str]]:
    """keyword (lower case) -> (value, evidence) for each -o option of the service's
    ExecStart; the first one for a keyword wins, as sshd keeps it."""
    exec_start, env_files = "", []
    env: dict[str, tuple[str, Line]] = {}
    start_line: Line | None = None
    for line in _unit_lines(facts):
        key, _, value = line.text.partition("=")
        key, value = key.strip(), value.strip()
        if key == "ExecStart":
            exec_start, start_line = value, line
        elif key == "EnvironmentFile":
            env_files = env_files + [value] if value else []
        elif key == "Environment":
            for assignment in shlex.split(value):
                name, _, setting = assignment.partition("=")
                env[name] = (setting, line)
    for path in env_files:
        env.update(_environment_file(facts, path.lstrip("-")))
    if not exec_start:
        return {}
    try:
        words = shlex.split(exec_start.lstrip("-@:+!"))
    except ValueError:
        words = exec_start.split()
    used: list[Line] = []
    argv = [w for word in words for w in _expand(word, env, used)]
    out: dict[str, tuple[str, str]] = {}
    index = 0
    while index < len(argv):
        word, option = argv[index], None
        if word == "-o" and index + 1 < len(argv):
            option, index = argv[index + 1], index + 1
        elif word.startswith("-o") and len(word) > 2:
            option = word[2:]
        index += 1
        if option is None:
            continue
        parts = re.split(r"[=\s]+", option.strip(), maxsplit=1)
        keyword = parts[0].lower()
        if keyword and len(parts) > 1 and keyword not in out:
            where = "; ".join(dict.fromkeys(str(u) for u in used)) or str(start_line)
            out[keyword] = (parts[1].strip(), f"{start_line} -- passes -o{option} ({where}), which wins over sshd_config")
    return out


class SshdCommandLine(Fact[dict[str, tuple[str, str]]]):
    group = "sshd"

    def parse(self, facts) -> dict[str, tuple[str, str]]:
        return options(facts)
