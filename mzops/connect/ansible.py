"""Running Ansible through ansible-runner, the way every mzops command does it.

Each run gets a fresh private data directory (ansible-runner keeps `env/` files and
the command line there), the settings mzops needs, and the Ansible executables of
the interpreter mzops runs in, whatever PATH the caller had (cron, systemd timers).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


# Ansible's own until Mitogen's parity is proven on the lab task for task (issue 20).
DEFAULT_STRATEGY = "linear"


def default_strategy() -> Strategy:
    """For runs that name none: MZOPS_ANSIBLE_STRATEGY, else DEFAULT_STRATEGY."""
    return strategy(os.environ.get("MZOPS_ANSIBLE_STRATEGY") or DEFAULT_STRATEGY)


def _runner_environment(chosen: Strategy | None = None) -> dict[str, str]:
    env = {**environment(), **strategy_environment(chosen or default_strategy())}
    # ansible-runner resolves the `ansible` executable from the process PATH.
    os.environ["PATH"] = env["PATH"]
    return env


def run_module(private_dir: Path, inventory: str, pattern: str, module: str,
               module_args: str = "", forks: int = 10) -> Any:
    """Run one ad-hoc module over a host pattern; returns the ansible-runner Runner."""
    import ansible_runner

    env = _runner_environment()
    return ansible_runner.run(
        private_data_dir=str(private_dir), inventory=inventory, host_pattern=pattern,
        module=module, module_args=module_args or None, envvars=env, forks=forks, quiet=True,
    )


def run_playbook(private_dir: Path, inventory: str, play: list[dict], forks: int = 10) -> Any:
    """Run a playbook given as data, from a fresh private directory."""
    import ansible_runner
    import yaml

    env = _runner_environment()
    private_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    (private_dir / "project").mkdir(exist_ok=True)
    (private_dir / "project" / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    return ansible_runner.run(private_data_dir=str(private_dir), inventory=inventory, playbook="play.yml",
                              envvars=env, forks=forks, quiet=True)


def run_project(private_dir: Path, inventory: str, project_dir: Path, playbook: str, limit: list[str],
                tags: list[str], check: bool, extravars: dict[str, Any], forks: int = 10,
                agent_socket: str | None = None, timeout: int | None = None,
                chosen: Strategy | None = None) -> Any:
    """Run a playbook of the repository (roles beside it) with tags, diff and maybe check
    mode. Extra vars are written to the private directory: never pass secrets there;
    keys reach ssh through an agent socket."""
    import ansible_runner

    env = _runner_environment(chosen)
    if agent_socket:
        env["SSH_AUTH_SOCK"] = agent_socket
    private_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return ansible_runner.run(
        private_data_dir=str(private_dir), project_dir=str(project_dir), playbook=playbook,
        inventory=inventory, limit=",".join(limit), tags=",".join(tags), extravars=extravars,
        cmdline="--diff" + (" --check" if check else ""), envvars=env, forks=forks, quiet=True,
        timeout=timeout,
    )
