"""Running Ansible through ansible-runner, the way every mzops command does it.

Each run gets a fresh private data directory (ansible-runner keeps `env/` files and
the command line there), the settings mzops needs, and the Ansible executables of
the interpreter mzops runs in, whatever PATH the caller had (cron, systemd timers).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from mzops.inventory import model
from mzops.inventory.loader import ansible_environment


def environment() -> dict[str, str]:
    bindir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "/usr/bin:/bin")
    if bindir not in path.split(os.pathsep):
        path = bindir + os.pathsep + path
    return {**ansible_environment(), "PATH": path}


# The execution strategies an mzops Ansible run may ask for (model.STRATEGIES): Mitogen's
# linear strategy (one Python per host kept for the whole play, each module sent once,
# tasks run as calls in it instead of an ssh command, a temporary file and an
# interpreter each) or Ansible's own linear one.
STRATEGIES = model.STRATEGIES


@dataclass(frozen=True)
class Strategy:
    asked: str                      # one of STRATEGIES
    name: str                       # the strategy plugin Ansible runs: mitogen_linear | linear
    fallback: str = ""              # why the one asked for does not run here

    def __str__(self) -> str:
        return self.name + (f" ({self.asked} asked: {self.fallback})" if self.fallback else "")


def strategy(asked: str = "mitogen") -> Strategy:
    """The strategy a run uses: Mitogen's where it can run (importable, and an
    ansible-core it supports: ansible_mitogen.loaders.assert_supported_release), else
    Ansible's linear, with the reason."""
    if asked not in STRATEGIES:
        raise ValueError(f"strategy {asked!r}: one of {', '.join(STRATEGIES)}")
    if asked == "linear":
        return Strategy(asked, "linear")
    try:
        from ansible_mitogen import loaders
        loaders.assert_supported_release()
    except Exception as exc:                 # an import error or Ansible's own error: both say why
        return Strategy(asked, "linear", f"Mitogen cannot run here: {str(exc).strip().splitlines()[0]}")
    return Strategy(asked, "mitogen_linear")


def strategy_environment(chosen: Strategy) -> dict[str, str]:
    if chosen.name == "linear":
        return {"ANSIBLE_STRATEGY": "linear"}
    import ansible_mitogen
    return {"ANSIBLE_STRATEGY": chosen.name,
            "ANSIBLE_STRATEGY_PLUGINS": str(Path(ansible_mitogen.__file__).parent / "plugins" / "strategy")}


# Mitogen's: its parity with Ansible's linear (tasks, diffs, host state, audit, rollback)
# is proven on the lab by tests/integration/test_harden_lab.py.
DEFAULT_STRATEGY = "mitogen"


def default_strategy() -> Strategy:
    """For runs that name none: MZOPS_ANSIBLE_STRATEGY, else DEFAULT_STRATEGY."""
    return strategy(os.environ.get("MZOPS_ANSIBLE_STRATEGY") or DEFAULT_STRATEGY)


def asked_by(hostvars: Iterable[dict[str, Any]]) -> str:
    """The strategy a run over these hosts asks for: a host's mzops_ansible_strategy, else
    MZOPS_ANSIBLE_STRATEGY, else DEFAULT_STRATEGY. One run, one strategy: where the hosts
    of a run differ, linear (what a host asking for it needs, and what every host can run)."""
    default = os.environ.get("MZOPS_ANSIBLE_STRATEGY") or DEFAULT_STRATEGY
    asked = {str(v.get(model.VAR_ANSIBLE_STRATEGY) or default) for v in hostvars}
    return asked.pop() if len(asked) == 1 else "linear"


def _runner_environment(chosen: Strategy | None = None) -> dict[str, str]:
    env = {**environment(), **strategy_environment(chosen or default_strategy())}
    # ansible-runner resolves the `ansible` executable from the process PATH.
    os.environ["PATH"] = env["PATH"]
    return env


@dataclass
class AnsibleRun:
    """One mzops Ansible run: the events of every host, and per host the strategy that ran
    on it. Where Mitogen could not reach a host that ran nothing yet, that host was run
    again with Ansible's linear strategy, and `used` says so."""
    runner: Any                                   # the (first) ansible-runner Runner
    events: list[dict[str, Any]]
    status: str                                   # ansible-runner's: successful | failed | timeout | ...
    rc: int
    used: dict[str, Strategy]

    @property
    def stdout(self) -> Any:
        return self.runner.stdout


def _host_of(event: dict[str, Any]) -> str | None:
    return (event.get("event_data") or {}).get("host")


def mitogen_refused(events: list[dict[str, Any]]) -> dict[str, str]:
    """Hosts Mitogen did not reach and on which nothing changed or failed: host -> why.
    Running them again with linear repeats nothing. Where mzops reached them first with
    its own ssh (hardening's facts and snapshot, a lock's plan), the fault is Mitogen's
    connection; a host that is down costs the second try one more connect timeout."""
    touched: set[str] = set()
    refused: dict[str, str] = {}
    for event in events:
        host, kind = _host_of(event), event.get("event", "")
        res = (event.get("event_data") or {}).get("res") or {}
        if kind == "runner_on_unreachable":
            refused.setdefault(host, " ".join(str(res.get("msg") or "unreachable").split())[:300])
        elif kind == "runner_on_failed" or (kind == "runner_on_ok" and res.get("changed")):
            touched.add(host)
    return {h: why for h, why in refused.items() if h and h not in touched}


def _with_fallback(run: Any, chosen: Strategy, hosts: list[str], private_dir: Path) -> AnsibleRun:
    """run(private_dir, limit, strategy) -> Runner; the refused hosts run again with linear."""
    first = run(private_dir, hosts, chosen)
    events = list(first.events)
    used = {h: chosen for h in hosts}
    refused = mitogen_refused(events) if chosen.name == "mitogen_linear" and first.status == "failed" else {}
    if not refused:
        return AnsibleRun(first, events, first.status, first.rc, used)
    others_failed = any(_host_of(e) not in refused and e.get("event") in ("runner_on_failed", "runner_on_unreachable")
                        for e in events)
    again = run(private_dir.with_name(private_dir.name + "-linear"), sorted(refused), Strategy("linear", "linear"))
    events = [e for e in events if _host_of(e) not in refused] + list(again.events)
    for host, why in refused.items():
        used[host] = Strategy(chosen.asked, "linear", f"Mitogen could not run on it: {why}")
    final = first if others_failed else again     # the first run's own failures stand
    return AnsibleRun(first, events, final.status, final.rc, used)


def run_module(private_dir: Path, inventory: str, pattern: str, module: str,
               module_args: str = "", forks: int = 10) -> AnsibleRun:
    """Run one ad-hoc module over a host pattern."""
    import ansible_runner

    def run(folder: Path, limit: list[str], strategy: Strategy) -> Any:
        return ansible_runner.run(
            private_data_dir=str(folder), inventory=inventory, host_pattern=pattern, limit=",".join(limit) or None,
            module=module, module_args=module_args or None, envvars=_runner_environment(strategy), forks=forks,
            quiet=True)

    return _with_fallback(run, default_strategy(), [], private_dir)


def run_playbook(private_dir: Path, inventory: str, play: list[dict], forks: int = 10,
                 hosts: list[str] | None = None, chosen: Strategy | None = None) -> AnsibleRun:
    """Run a playbook given as data, from a fresh private directory, on `hosts` (the
    play's own pattern when none are named)."""
    import ansible_runner
    import yaml

    chosen = chosen or default_strategy()

    def run(folder: Path, limit: list[str], strategy: Strategy) -> Any:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        (folder / "project").mkdir(exist_ok=True)
        (folder / "project" / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
        return ansible_runner.run(private_data_dir=str(folder), inventory=inventory, playbook="play.yml",
                                  limit=",".join(limit) or None, envvars=_runner_environment(strategy),
                                  forks=forks, quiet=True)

    return _with_fallback(run, chosen, hosts or [], private_dir)


def run_project(private_dir: Path, inventory: str, project_dir: Path, playbook: str, limit: list[str],
                tags: list[str], check: bool, extravars: dict[str, Any], forks: int = 10,
                agent_socket: str | None = None, timeout: int | None = None,
                chosen: Strategy | None = None) -> AnsibleRun:
    """Run a playbook of the repository (roles beside it) with tags, diff and maybe check
    mode. Extra vars are written to the private directory: never pass secrets there;
    keys reach ssh through an agent socket."""
    import ansible_runner

    # a host run again with linear has what is left of TIMEOUT, not a second one
    deadline = None if timeout is None else time.monotonic() + timeout

    def run(folder: Path, hosts: list[str], strategy: Strategy) -> Any:
        env = _runner_environment(strategy)
        if agent_socket:
            env["SSH_AUTH_SOCK"] = agent_socket
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return ansible_runner.run(
            private_data_dir=str(folder), project_dir=str(project_dir), playbook=playbook,
            inventory=inventory, limit=",".join(hosts), tags=",".join(tags), extravars=extravars,
            cmdline="--diff" + (" --check" if check else ""), envvars=env, forks=forks, quiet=True,
            timeout=None if deadline is None else max(1, int(deadline - time.monotonic())),
        )

    return _with_fallback(run, chosen or default_strategy(), limit, private_dir)
