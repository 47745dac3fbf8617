"""Running Ansible through ansible-runner, the way every mzops command does it.

Each run gets a fresh private data directory (ansible-runner keeps `env/` files and
the command line there), the settings mzops needs, and the Ansible executables of
the interpreter mzops runs in, whatever PATH the caller had (cron, systemd timers).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from mzops.inventory.loader import ansible_environment


def environment() -> dict[str, str]:
    bindir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "/usr/bin:/bin")
    if bindir not in path.split(os.pathsep):
        path = bindir + os.pathsep + path
    return {**ansible_environment(), "PATH": path}


def _runner_environment() -> dict[str, str]:
    env = environment()
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
                agent_socket: str | None = None, timeout: int | None = None) -> Any:
    """Run a playbook of the repository (roles beside it) with tags, diff and maybe check
    mode. Extra vars are written to the private directory: never pass secrets there;
    keys reach ssh through an agent socket."""
    import ansible_runner

    env = _runner_environment()
    if agent_socket:
        env["SSH_AUTH_SOCK"] = agent_socket
    private_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return ansible_runner.run(
        private_data_dir=str(private_dir), project_dir=str(project_dir), playbook=playbook,
        inventory=inventory, limit=",".join(limit), tags=",".join(tags), extravars=extravars,
        cmdline="--diff" + (" --check" if check else ""), envvars=env, forks=forks, quiet=True,
        timeout=timeout,
    )
