"""Run an Ansible playbook of the estate's own (start the applications at the site that
now holds the primary, point them at it, ...): a file in `playbooks/dr/`, run by
ansible-runner over the plan's inventory like every mzops Ansible run, within the
step's timeout.

`hosts` is an Ansible pattern of assets, where `{site}` stands for the site that took
over, or a mapping of site to pattern. The play gets, as extra vars, where the service
now is: `mzops_dr_plan`, `mzops_dr_mode`, `mzops_dr_site`, `mzops_dr_primary` (the
database asset), `mzops_dr_primary_host` and `mzops_dr_address` (the service address,
when the plan moves one); no secret ever (a key reaches ssh through an agent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mzops.dr.steps import StepFailed
from mzops.errors import InputError
from mzops.paths import PLAYBOOKS

if TYPE_CHECKING:                       # imported where a step runs: the CLI starts faster
    from mzops.connect.ansible import Strategy

FOLDER = PLAYBOOKS / "dr"


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    playbook: str = Field(pattern=r"^[A-Za-z0-9_.-]+\.ya?ml$")     # a file in playbooks/dr/
    hosts: Union[str, dict[str, str]] = "{site}"
    vars: dict[str, Union[str, int, bool]] = {}

    @field_validator("playbook")
    @classmethod
    def _exists(cls, value: str) -> str:
        if not (FOLDER / value).is_file():
            raise ValueError(f"no playbook {value!r} in {FOLDER}")
        return value


def pattern_for(params: Params, site: str) -> str:
    if isinstance(params.hosts, dict):
        if site not in params.hosts:
            raise StepFailed(f"hosts names no pattern for the {site} site ({', '.join(params.hosts)})")
        return params.hosts[site]
    return params.hosts.replace("{site}", site)


def extra_vars(mission, params: Params) -> dict:
    link = mission.links[0]
    address = next((s.params.address for s in mission.plan.steps if s.spec.kind == "address"), "")
    return {**params.vars, "mzops_dr_plan": mission.plan.name, "mzops_dr_mode": mission.mode,
            "mzops_dr_site": link.target.asset.site, "mzops_dr_primary": link.target.name,
            "mzops_dr_primary_host": link.target.server.name, "mzops_dr_address": str(address).split("/")[0]}


def run(mission, step) -> str:
    from mzops.connect import ansible, ssh
    from mzops.dr.mission import RECORDS
    from mzops.harden import events

    params: Params = step.params
    site = mission.links[0].target.asset.site
    pattern = pattern_for(params, site)
    try:
        hosts = mission.estate.limit(pattern)
    except InputError as exc:          # a pattern Ansible would misread: the step fails, named
        raise StepFailed(f"hosts {pattern!r}: {exc}") from None
    if not hosts:
        raise StepFailed(f"hosts {pattern!r} matches no asset")
    keys = [ssh.target_of(mission.estate.assets[h], mission.resolver).key for h in hosts]
    folder = RECORDS.root / mission.run_id / f"play-{step.name}"
    timeout = max(5, int(mission.remaining()))
    with ssh.agent(keys) as agent_env:            # an asset without a key credential adds none
        runner = ansible.run_project(folder, mission.estate.source, FOLDER, params.playbook, hosts, [], False,
                                     extra_vars(mission, params), agent_socket=(agent_env or {}).get("SSH_AUTH_SOCK"),
                                     timeout=timeout, chosen=ansible.strategy(
                                         ansible.asked_by(mission.estate.assets[h].vars for h in hosts)))
    per_host = events.from_events(runner.events)
    if runner.status == "timeout":
        raise StepFailed(f"{params.playbook}: still running after {timeout} s (stopped)")
    for host in hosts:
        tasks = per_host.get(host, events.HostTasks())
        failed = [t for t in tasks.tasks if t.status in ("failed", "unreachable")]
        if failed:
            raise StepFailed(f"{params.playbook} on {host}: {failed[0].task}: {failed[0].message}"[:400])
        if host not in per_host:
            raise StepFailed(f"{params.playbook}: Ansible did not run on {host} ({runner.status})")
    if runner.status != "successful":
        raise StepFailed(f"{params.playbook}: Ansible ended {runner.status} (rc {runner.rc})")
    counts = {h: per_host[h].counts() for h in hosts}
    return f"{params.playbook} on {', '.join(hosts)}: " + ", ".join(
        f"{h} ok {c['ok']} changed {c['changed']}" + _fallback(runner.used.get(h)) for h, c in counts.items())


def _fallback(used: Strategy | None) -> str:
    """Said only where the strategy asked for is not the one that ran."""
    return f" (Ansible strategy: {used})" if used is not None and used.fallback else ""
