"""Replication of a plan's databases to the DR site: set up or checked (`dr protect`),
shown (`dr status`), and an old primary turned into a standby of the new one (rejoin,
used by failback)."""

from __future__ import annotations

import time

from mzops.dr.mission import Link, Mission, Side, links_of, read_state, side_of
from mzops.dr.plan import Plan
from mzops.dr.steps import StepFailed
from mzops.engines.base import PRIMARY, STANDBY, forked
from mzops.inventory.model import Estate
from mzops.run import CHANGED, FAILED, OK, REFUSED, UNREACHABLE, Outcome
from mzops.secrets import Resolver


def application_name(side: Side) -> str:
    """How a standby names itself to its primary (synchronous_standby_names lists it)."""
    return side.name.replace("-", "_").replace(".", "_")


def service_address(mission: Mission, link: Link) -> str:
    """The address an `address` step moves with this pair (bare), or ""."""
    for step in mission.plan.steps:
        if step.spec.kind == "address":
            follows = step.params.follows
            first = mission.plan.pairs[0]
            if (follows is None and link.pair is first) or follows in (link.pair.primary, link.pair.standby):
                return step.params.address.split("/")[0]
    return ""


def protect_args(mission: Mission, link: Link, side: Side, other: Side, mode: str, sync: bool) -> list[str]:
    spec = mission.plan.spec.replication
    return [side.port, side.asset.address, other.asset.address, other.port, spec.account, application_name(side),
            application_name(other), "on" if sync else "off", spec.wal_keep, mode, service_address(mission, link)]


def _configure(mission: Mission, link: Link, side: Side, other: Side, mode: str, sync: bool) -> tuple[int, list[str], str]:
    done = mission.run_script(side, side.engine.protect, protect_args(mission, link, side, other, mode, sync),
                              timeout=300, secrets=mode != "check")
    said = [line for line in done.stdout.decode(errors="replace").splitlines() if line.strip()]
    return done.rc, said, done.stderr


def streams_from(state, other: Side) -> bool:
    """STATE is a standby streaming from OTHER on OTHER's timeline (one on a forked
    timeline reconnects and streams for a moment now and then, but never replays OTHER's
    writes)."""
    return (state.role == STANDBY and state.streaming and state.following == other.asset.address
            and not forked(state.timeline, other.state.timeline if other.state else None))


def fork_text(state, other: Side) -> str:
    """Why STATE cannot follow OTHER if their timelines forked, or ""."""
    if state.role != STANDBY or other.state is None or not forked(state.timeline, other.state.timeline):
        return ""
    return (f"it replays timeline {state.timeline}, {other.name} writes timeline {other.state.timeline}: its "
            "history forked from it (as an old primary's does, started as a standby without a rewind)")


def protect_plan(plan: Plan, estate: Estate, resolver: Resolver, operator: str, run_id: str, apply: bool,
                 restart: bool, say=print) -> list[Outcome]:
    mission = Mission(plan, estate, resolver, "protect", operator, run_id, say=say)
    mission.links = links_of(plan, estate, resolver)
    return protect(mission, apply, restart)


def protect(mission: Mission, apply: bool, restart: bool) -> list[Outcome]:
    """Per pair: the configuration both sides need (the same shape on each, pointing at
    the other) and, if the DR side is not streaming from the primary site yet, a fresh
    standby built there from a base backup (its old data directory kept aside)."""
    out = []
    mode = "check" if not apply else ("apply-restart" if restart else "apply")
    for link in mission.links:
        begin = time.monotonic()
        home, away = read_state(link.home), read_state(link.away)
        name = f"{link.home.name} -> {link.away.name}"
        if away.role == PRIMARY and home.role != PRIMARY:
            out.append(Outcome(name, REFUSED, f"{link.away.name} is the primary: this plan has failed over "
                                              f"(`mzops dr failback {mission.plan.name}`)"))
            continue
        if home.role != PRIMARY:
            state = UNREACHABLE if "unreachable" in home.problem else FAILED
            out.append(Outcome(name, state, f"{link.home.name} is {home.role}: {home.problem or 'not a primary'}"))
            continue
        sync = link.pair.mode == "synchronous"
        lines, problem = [], ""
        build = not streams_from(away, link.home)
        # synchronous only once the standby streams: before, every commit would wait for it
        for side, other in ((link.home, link.away), (link.away, link.home)):
            if side is link.away and away.role not in (PRIMARY, STANDBY):
                lines.append(f"{side.name}: {away.role} ({away.problem}): rebuilt as a standby")
                continue
            rc, said, err = _configure(mission, link, side, other, mode, sync and not build)
            lines += [f"{side.name}: {line}" for line in said]
            if rc != 0:
                problem = f"{side.name}: {err.strip().splitlines()[-1] if err.strip() else f'exit {rc}'}"
                break
        if not problem and build:
            lines.append(f"{link.away.name}: rebuilt as a standby of {link.home.name} (from a copy of it; its "
                         "data directory kept aside as DATA.mzops-before-dr)")
            if apply:
                problem = build_standby(mission, link.away, link.home)
                if not problem:       # the copy brought the primary's accounts: the standby's own again
                    rc, _, err = _configure(mission, link, link.away, link.home, mode, False)
                    if rc != 0:
                        problem = f"{link.away.name}: {err.strip().splitlines()[-1] if err.strip() else f'exit {rc}'}"
                if not problem and sync:
                    rc, said, err = _configure(mission, link, link.home, link.away, "apply", True)
                    if rc != 0:
                        problem = f"{link.home.name}: synchronous replication not set: {err.strip()[-200:]}"
        if not problem:
            problem = _place_address(mission, link, apply, lines)
        changes = [line for line in lines if ": change:" in line or "rebuilt" in line or "restart:" in line]
        if problem:
            state = FAILED
        elif not changes:
            state = OK
        else:
            state = CHANGED if apply else OK
        if not problem and not changes:
            lines.append(f"{link.away.name} streams from {link.home.name}: protected")
        out.append(Outcome(name, state, problem or ("; ".join(changes) if changes else lines[-1]),
                           diff="\n".join(lines), seconds=time.monotonic() - begin))
    return out


def build_standby(mission: Mission, side: Side, primary: Side) -> str:
    """SIDE made a fresh standby of PRIMARY: by itself (PostgreSQL's pg_basebackup
    pulls the copy), or around a copy PRIMARY writes and the controller relays (the
    engine's seed_source / seed_receive). The problem, or ""."""
    engine = side.engine
    args = [side.port, primary.asset.address, primary.port, mission.plan.spec.replication.account]
    if engine.seed_source is None:
        done = mission.run_script(side, engine.standby_build, [*args, "all"], timeout=3600, secrets=True)
        return "" if done.rc == 0 else f"{side.name}: the standby was not built: {done.stderr.strip()[-300:]}"
    done = mission.run_script(side, engine.standby_build, [*args, "prepare"], timeout=600, secrets=True)
    if done.rc != 0:
        return f"{side.name}: not ready for a copy: {done.stderr.strip()[-300:]}"
    folder = next((line.split("=", 1)[1] for line in done.stderr.splitlines()
                   if line.startswith("mzops: data_directory=")), "")
    if not folder:
        return f"{side.name}: did not say where its data directory is"
    problem = relay(primary, engine.seed_source, [primary.port, f"mzops dr seed of {side.name}"], side,
                    engine.seed_receive, [folder])
    if problem:
        return problem
    done = mission.run_script(side, engine.standby_build, [*args, "start"], timeout=1800, secrets=True)
    return "" if done.rc == 0 else f"{side.name}: the standby did not start: {done.stderr.strip()[-300:]}"


def relay(source: Side, script: bytes, args: list[str], target: Side, receive: str, receive_args: list[str]) -> str:
    """SCRIPT's output on SOURCE's host fed to RECEIVE on TARGET's host, through the
    controller (the two hosts need no access to each other). The problem, or ""."""
    from mzops.connect import ssh
    with ssh.stream(source.target, script, args) as out, ssh.feed(target.target, receive, receive_args) as into:
        for chunk in iter(lambda: out.stdout.read(1 << 20), b""):
            try:
                into.stdin.write(chunk)
            except BrokenPipeError:
                break
        into.stdin.close()
        into.wait()
        out.wait()
        if out.returncode != 0:
            return f"{source.name}: the copy failed: {out.stderr.read().decode(errors='replace').strip()[-300:]}"
        if into.returncode != 0:
            return f"{target.name}: the copy was not taken: {into.stderr.read().decode(errors='replace').strip()[-300:]}"
    return ""


HOLDS = b"""ip -o addr show dev "$2" 2>/dev/null | grep -qF " $1 "
"""


def _place_address(mission: Mission, link: Link, apply: bool, lines: list[str]) -> str:
    """The plan's service address on the primary's host (where clients find the
    service), not on the standby's. The problem, or ""."""
    from mzops.dr.steps import address
    step = next((s for s in mission.plan.steps if s.spec.kind == "address"
                 and service_address(mission, link)), None)
    if step is None:
        return ""
    cidr, device = step.params.address, step.params.device
    for side, want in ((link.home, True), (link.away, False)):
        held = mission.run_script(side, HOLDS, [cidr, device], timeout=30).rc == 0
        if held == want:
            continue
        lines.append(f"{side.name}: change: service address {cidr} {'taken on' if want else 'removed from'} "
                     f"{side.server.name} ({device})")
        if apply:
            done = mission.run_script(side, address.TAKE if want else address.RELEASE, [cidr, device], timeout=30)
            if done.rc != 0:
                return f"{side.name}: service address {cidr}: {done.stderr.strip()[-200:] or f'exit {done.rc}'}"
    return ""


def rejoin(mission: Mission, side: Side, other: Side, wait: float) -> str:
    """SIDE (the old primary, or the side given up) made a standby of OTHER, then
    waited for until it streams and has replayed to OTHER's position of then; then the
    pair's configuration applied again on OTHER (synchronous replication back on)."""
    state = read_state(side)
    if streams_from(state, other):
        said = f"{side.name} already streams from {other.name}"
    else:
        done = mission.run_script(side, side.engine.rejoin,
                                  [side.port, side.data, other.asset.address, other.port,
                                   mission.plan.spec.replication.account], timeout=wait, secrets=True)
        if done.rc != 0:
            raise mission.fail(side, done, "could not follow " + other.name)
        said = f"{side.name} {side.engine.rejoin_method}, a standby of {other.name}"
    primary = read_state(other)
    deadline = time.monotonic() + wait
    while True:
        state = read_state(side)
        if primary.position is None:
            raise StepFailed(f"{other.name} did not say its log position: {side.name}'s catch-up cannot be shown")
        if streams_from(state, other) and state.position is not None and state.position >= primary.position:
            break
        if time.monotonic() > deadline:
            raise StepFailed(f"{side.name} does not catch up with {other.name} ({state.position_text or '?'} of "
                             f"{primary.position_text}; {fork_text(state, other) or state.problem or state.role})")
        time.sleep(0.2)
    link = next(link for link in mission.links if side in link.sides)
    if link.pair.mode == "synchronous":
        rc, _, err = _configure(mission, link, other, side, "apply", True)
        if rc != 0:
            raise StepFailed(f"{other.name}: synchronous replication not set again: {err.strip()[-200:]}")
        said += "; synchronous replication on again"
    return said + f"; caught up at {state.position_text}"


def current_standby(estate: Estate, resolver: Resolver, pair, wait: float = 60) -> tuple[Side | None, str]:
    """PAIR's standby when it can be read instead of its primary (a backup that puts no
    load on the primary): it streams from the primary on its timeline and has replayed
    what the primary had written when asked, waited for up to WAIT seconds. Otherwise
    (None, why not)."""
    home, away = side_of(estate, pair.primary, resolver), side_of(estate, pair.standby, resolver)
    primary = read_state(home)
    if primary.role != PRIMARY or primary.position is None:
        return None, f"{home.name} is {primary.role}{': ' + primary.problem if primary.problem else ''}"
    deadline = time.monotonic() + wait
    while True:
        state = read_state(away)
        if not streams_from(state, home):
            return None, (f"{away.name} does not stream from {home.name}: "
                          f"{fork_text(state, home) or state.problem or state.role}")
        if state.problem:                              # streaming, but not replaying (paused)
            return None, f"{away.name}: {state.problem}"
        if state.position is not None and state.position >= primary.position:
            return away, ""
        if time.monotonic() > deadline:
            return None, (f"{away.name} is {primary.position - (state.position or 0)} "
                          f"{away.engine.position_unit} behind {home.name} after {wait:g} s")
        time.sleep(0.2)


def status(plan: Plan, estate: Estate, resolver: Resolver) -> dict:
    """Per pair: each side's role and position, which site is primary, the lag."""
    pairs = []
    for link in links_of(plan, estate, resolver):
        read_state(link.home), read_state(link.away)
        primary = next((s for s in link.sides if s.state.role == PRIMARY), None)
        standby = next((s for s in link.sides if s is not primary), None)
        lag = lag_seconds = None
        fork = fork_text(standby.state, primary) if primary is not None else ""
        if primary is not None and standby.state.role == STANDBY and not fork:     # across a fork: no lag to say
            lag = max(0, (primary.state.position or 0) - (standby.state.position or 0))
            for line in (primary.state.facts or {}).get("sender", "").splitlines():
                fields = line.split()
                if fields and fields[0] == standby.asset.address and len(fields) >= 6:
                    lag_seconds = float(fields[5])
            facts = standby.state.facts or {}
            if lag_seconds is None:
                lag_seconds = standby.state.lag_seconds
            if lag_seconds is None and facts.get("last_replay") and facts.get("now"):
                lag_seconds = round(float(facts["now"]) - float(facts["last_replay"]), 3)
        both = sum(1 for s in link.sides if s.state.role == PRIMARY)
        pairs.append({
            "primary": link.home.name, "standby": link.away.name, "mode": link.pair.mode,
            "primary_site": primary.asset.site if primary else None,
            "state": ("not protected (two separate clusters)" if not link.home.state.same_cluster(link.away.state)
                      and link.home.state.system and link.away.state.system
                      else "TWO WRITABLE PRIMARIES (a split brain, or copies never paired)" if both == 2
                      else f"not protected: {standby.name}: {fork}" if fork
                      else "protected" if primary and streams_from(standby.state, primary)
                      else "not protected" if primary else "no primary"),
            "lag": lag, "lag_unit": link.home.engine.position_unit, "lag_seconds": lag_seconds,
            "servers": [{**s.state.to_dict(), "site": s.asset.site} for s in link.sides],
        })
    return {"plan": plan.name, "service": plan.spec.service, "pairs": pairs}
