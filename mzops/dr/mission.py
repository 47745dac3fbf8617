"""One DR run: a plan's steps in order against the plan's database pairs, each step
timed, the first failure stopping a planned run (a disaster run goes on past the lost
site's errors), and at the end every component's state and the run's RTO and RPO.

Sides of a pair: `home` is the plan's primary-site server, `away` its DR-site standby.
At run time `source` is the side that is primary now (the one given up) and `target`
the side that takes over; a failback runs the same steps the other way.

Every promotion is gated on positions (`gate`): the candidate's replay position must
have passed the old primary's last position (its shutdown checkpoint when it stopped
cleanly, else the last position mzops saw), or the step refuses; a person may accept a
named loss in a disaster, and that is recorded with their name.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from typing import Callable

from mzops import engines
from mzops.connect import ssh
from mzops.dr.plan import Pair, Plan, Step
from mzops.dr.remote import with_secrets
from mzops.dr.steps import StepFailed
from mzops.engines.base import DOWN, PRIMARY, STANDBY, ReplicationState, forked
from mzops.errors import InputError, OperationFailed
from mzops.inventory.model import Asset, Estate
from mzops.paths import mzops_home
from mzops.run import Records
from mzops.secrets import Resolver

RECORDS = Records("dr")
PLANNED, DISASTER, FAILBACK, DRILL = "planned", "disaster", "failback", "drill"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class Side:
    asset: Asset                  # the database
    server: Asset                 # the host it runs on
    engine: object
    target: ssh.Target
    state: ReplicationState | None = None
    unreachable_at: float | None = None     # when its host last did not answer (within one run)

    @property
    def name(self) -> str:
        return self.asset.name

    @property
    def port(self) -> str:
        return str(self.asset.db_port or self.engine.default_port)

    @property
    def data(self) -> str:
        facts = (self.state.facts or {}) if self.state else {}
        return facts.get("data_directory", "") or last_known(self.name).get("data_directory", "")


@dataclass
class Link:
    pair: Pair
    home: Side
    away: Side
    source: Side | None = None
    target: Side | None = None
    source_last: int | None = None       # the old primary's last position, for the gate
    source_last_text: str = ""
    source_last_basis: str = ""
    source_last_exact: bool = False      # the old primary's very last position (a clean stop), not an estimate
    source_last_timeline: int | None = None    # the history that position lies on (PostgreSQL)
    fenced: str = ""                     # how the old primary was fenced
    promoted: bool = False
    lost_bytes: int | None = None

    @property
    def sides(self) -> tuple[Side, Side]:
        return self.home, self.away


# ----------------------------------------------------------------- positions seen

def _state_path(asset: str):
    return mzops_home() / "dr" / "positions" / f"{asset}.json"


def last_known(asset: str) -> dict:
    try:
        return json.loads(_state_path(asset).read_text())
    except (OSError, ValueError):
        return {}


def remember(state: ReplicationState) -> None:
    """Keep the newest position seen of a running server: after a disaster it is the
    best estimate there is of what the lost primary had."""
    if state.role not in (PRIMARY, STANDBY) or state.position is None:
        return
    path = _state_path(state.asset)
    data = {"role": state.role, "position": state.position_text, "number": state.position,
            "timeline": state.timeline, "seen": utcnow().isoformat(timespec="seconds"),
            "data_directory": (state.facts or {}).get("data_directory", "")}
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(path)
    except OSError:
        pass                       # an estimate, not a record: the run goes on without it


# ----------------------------------------------------------------- reading servers

def side_of(estate: Estate, name: str, resolver: Resolver) -> Side:
    asset = estate.assets[name]
    engine = engines.get(asset.db_engine, name)
    server = estate.assets[asset.db_server]
    return Side(asset, server, engine, ssh.target_of(server, resolver))


def links_of(plan: Plan, estate: Estate, resolver: Resolver) -> list[Link]:
    return [Link(pair, side_of(estate, pair.primary, resolver), side_of(estate, pair.standby, resolver))
            for pair in plan.pairs]


# A host that did not answer is not asked again within this long in one run: behind a
# cut link every question waits for ssh's connect timeout. Fencing always asks again.
UNREACHABLE_CACHE = 30.0
# The other site is a few km of metro fibre away: a host that has not answered ssh's
# handshake within 4 s is taken as lost (ssh's default in mzops is 10 s, for WAN sites).
CONNECT = ("-o", "ConnectTimeout=4")


def read_state(side: Side, timeout: float = 30) -> ReplicationState:
    """The side's replication state now (unreachable: role unknown, said why)."""
    if side.unreachable_at is not None and time.monotonic() - side.unreachable_at < UNREACHABLE_CACHE:
        return side.state
    done = ssh.run_script(side.target, side.engine.replication_facts, [side.port, side.data], timeout=timeout,
                          options=CONNECT)
    side.unreachable_at = time.monotonic() if done.transport_failed else None
    if done.rc != 0:
        why = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.rc}"
        state = ReplicationState(side.name, DOWN, problem=("unreachable: " if done.transport_failed else "") + why)
        state.facts = {}
    else:
        facts = {}
        for line in done.stdout.decode(errors="replace").splitlines():
            key, sep, value = line.partition("\x1f")
            if sep:
                facts[key] = value if key not in facts else facts[key] + "\n" + value
        state = side.engine.replication_state(side.name, facts)
    side.state = state
    remember(state)
    return state


# ----------------------------------------------------------------- the run

@dataclass
class StepRecord:
    name: str
    kind: str
    group: int
    started: str = ""
    ended: str = ""
    seconds: float = 0.0
    result: str = "not run"          # ok, failed or not run
    message: str = ""

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Mission:
    plan: Plan
    estate: Estate
    resolver: Resolver
    mode: str
    operator: str
    run_id: str
    say: Callable[[str], None] = print
    confirm: Callable[[str], bool] | None = None    # None: --yes (every prompt answered yes, recorded)
    fenced_by: str = ""                             # a person's word that the old primary is fenced
    accept_loss: bool = False
    links: list[Link] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    started: float = 0.0
    writable_at: float | None = None
    fenced_at: float | None = None
    deadline: float = 0.0
    notes: list[str] = field(default_factory=list)

    def lost(self, side: Side) -> bool:
        """SIDE's host did not answer a moment ago, in a disaster run: steps that would
        only tidy up there (release an address, check it takes no write) skip it."""
        return self.mode == DISASTER and side.unreachable_at is not None and \
            time.monotonic() - side.unreachable_at < UNREACHABLE_CACHE

    def remaining(self, floor: float = 5.0) -> float:
        return max(floor, self.deadline - time.monotonic())

    def run_script(self, side: Side, script: bytes, args: list[str], timeout: float | None = None,
                   secrets: bool = False):
        if secrets:
            script = with_secrets(script, **self.replication_secrets(side))
        return ssh.run_script(side.target, script, args, timeout=timeout or self.remaining(), options=CONNECT)

    def replication_secrets(self, side: Side) -> dict[str, str]:
        spec = self.plan.spec.replication
        password = self.resolver.resolve(spec.credentials).reveal()
        return side.engine.replication_secrets(spec.account, password)

    def fail(self, side: Side, done, what: str) -> StepFailed:
        said = (done.stderr or "").strip().splitlines()
        return StepFailed(f"{side.name}: {what}: {said[-1] if said else f'exit {done.rc}'}")

    # ------------------------------------------------------------- direction

    def choose_direction(self) -> None:
        """Which side is given up and which takes over, from what the servers say."""
        for link in self.links:
            home, away = (read_state(s) for s in link.sides)
            primaries = [s for s in link.sides if s.state.role == PRIMARY]
            if home.system and away.system and not home.same_cluster(away):
                raise InputError(f"{away.asset} is not a copy of {home.asset} (another cluster): the pair is not "
                                 f"protected (`mzops dr protect {self.plan.name}`)")
            if len(primaries) == 2:
                raise OperationFailed(f"{home.asset} and {away.asset} are both writable primaries: fence one "
                                      "by hand first (mzops will not choose)")
            if self.mode == FAILBACK:
                link.source, link.target = link.away, link.home
                if away.role != PRIMARY:
                    raise InputError(f"{link.away.name} is not the primary ({away.role}): nothing to fail back")
            elif primaries == [link.away] or (self.mode == DISASTER and away.role != STANDBY):
                raise InputError(f"{link.away.name} is {away.role} already: this plan has failed over "
                                 f"(`mzops dr failback {self.plan.name}` returns to {link.home.name})")
            else:
                link.source, link.target = link.home, link.away
                if self.mode == PLANNED and home.role != PRIMARY:
                    raise InputError(f"{link.home.name} is not a running primary ({home.role}"
                                     f"{': ' + home.problem if home.problem else ''}): a planned failover needs "
                                     "it; a lost site is `--disaster`")

    # ------------------------------------------------------------- steps

    def run(self, steps: list[Step] | None = None) -> bool:
        """Run STEPS (the plan's by default) in order; False when the run stopped."""
        self.started = self.started or time.monotonic()
        steps = steps or self.plan.steps
        self.steps += [StepRecord(step.name, step.spec.kind, step.spec.group) for step in steps]
        for step, record in zip(steps, self.steps[-len(steps):]):
            if step.spec.confirm:
                if self.confirm is None:
                    self.notes.append(f"{step.name}: {step.spec.confirm!r} answered yes by --yes ({self.operator})")
                elif not self.confirm(step.spec.confirm):
                    record.result, record.message = "failed", f"{self.operator} answered no: {step.spec.confirm}"
                    self._stopped(record)
                    return False
            if not self.step(step, record):
                return False
        return True

    def step(self, step: Step, record: StepRecord) -> bool:
        self.say(f"step {step.name} ({step.spec.kind}, group {step.spec.group})")
        record.started = utcnow().isoformat(timespec="milliseconds")
        begin = time.monotonic()
        if step.spec.kind == "fence" and self.fenced_at is None:
            self.fenced_at = begin
        self.deadline = begin + step.spec.timeout
        try:
            record.message = step.module.run(self, step) or ""
            record.result = "ok"
            if time.monotonic() > self.deadline:
                raise StepFailed(f"took {time.monotonic() - begin:.1f} s, more than its timeout of "
                                 f"{step.spec.timeout:g} s")
        except StepFailed as exc:
            record.result, record.message = "failed", str(exc)
        record.seconds = round(time.monotonic() - begin, 3)
        record.ended = utcnow().isoformat(timespec="milliseconds")
        self.say(f"  {record.result}: {record.message}" if record.message else f"  {record.result}")
        if record.result == "failed":
            self._stopped(record)
            return False
        return True

    def _stopped(self, record: StepRecord) -> None:
        """After a failure: nothing promoted yet and the old primary stopped by this run
        means the way back is starting it again, which is done (said in the record)."""
        for link in self.links:
            if link.promoted or not link.fenced or link.source is None or self.mode == DISASTER:
                continue
            done = self.run_script(link.source, link.source.engine.server_start, [link.source.port, link.source.data],
                                   timeout=120)
            self.notes.append(f"{link.source.name}: started again (nothing was promoted)" if done.rc == 0 else
                              f"{link.source.name}: could not be started again: {done.stderr[-200:]}")
            link.fenced = ""

    # ------------------------------------------------------------- the gate

    def gate(self, link: Link) -> None:
        """The candidate's replay position must have passed the old primary's last one."""
        target = link.target
        if link.source_last is None:
            if self.mode == DISASTER and self.accept_loss:
                link.lost_bytes = None
                self.notes.append(f"{target.name}: promoted with the old primary's last position unknown, "
                                  f"loss accepted by {self.operator}")
                return
            raise StepFailed(f"{link.source.name}'s last position is not known: {target.name} cannot be shown to "
                             "have every committed transaction (a disaster run may accept that with --accept-loss)")
        state = target.state
        unknown = target.engine.timelines and (state.timeline is None or link.source_last_timeline is None)
        if unknown or forked(state.timeline, link.source_last_timeline):
            why = (f"{target.name} replays timeline {state.timeline or '?'}, {link.source.name}'s last position "
                   f"{link.source_last_text} is on timeline {link.source_last_timeline or '?'}: "
                   + ("a position without its timeline does not show what it has" if unknown
                      else "positions on forked histories do not show what it has"))
            if self.mode == DISASTER and self.accept_loss:
                link.lost_bytes = None
                self.notes.append(f"{target.name}: promoted although {why}, loss accepted by {self.operator}")
                return
            raise StepFailed(why + "; not promoted")
        behind = link.source_last - (state.position or 0)
        # PostgreSQL: a stopped primary's position is its shutdown checkpoint's start,
        # replayed only when the standby is past it; a position seen while it ran (and
        # MariaDB's last GTID) is reached when equal
        strict = link.source_last_exact and link.source.engine.stopped_position_strict
        reached = behind < 0 if strict else behind <= 0
        if reached:
            link.lost_bytes = 0
            return
        if self.mode == DISASTER and self.accept_loss:
            link.lost_bytes = max(0, behind)
            self.notes.append(f"{target.name}: promoted {behind} {target.engine.position_unit} behind {link.source.name}'s last "
                              f"known position ({link.source_last_basis}), loss accepted by {self.operator}")
            return
        raise StepFailed(f"{target.name} has replayed to {state.position_text}, {link.source.name} was at "
                         f"{link.source_last_text} ({link.source_last_basis}): {max(behind, 0)} {target.engine.position_unit} "
                         "would be lost; not promoted")

    # ------------------------------------------------------------- the record

    def components(self) -> list[dict]:
        out = []
        for link in self.links:
            for side in link.sides:
                state = read_state(side, timeout=20)
                out.append({**state.to_dict(), "site": side.asset.site, "host": side.server.name})
        return out

    def record(self, ok: bool) -> dict:
        ended = time.monotonic()
        rto = round(self.writable_at - self.started, 3) if self.writable_at else None
        losses = [link.lost_bytes for link in self.links if link.promoted]
        return {
            "run_id": self.run_id, "plan": self.plan.name, "service": self.plan.spec.service, "mode": self.mode,
            "operator": self.operator, "result": "ok" if ok else "failed",
            "started": (utcnow() - dt.timedelta(seconds=ended - self.started)).isoformat(timespec="seconds"),
            "seconds": round(ended - self.started, 3),
            "rto_seconds": rto,              # from the command's start to the first write taken by the new primary
            "write_outage_seconds": round(self.writable_at - self.fenced_at, 3)
            if self.writable_at and self.fenced_at else None,
            "rpo": {"lost": (None if any(x is None for x in losses) else sum(losses)) if losses else None,
                    "unit": sorted({link.source.engine.position_unit for link in self.links if link.source}),
                    "basis": [link.source_last_basis for link in self.links],
                    "exact": bool(self.links) and all(link.source_last_exact for link in self.links)},
            "steps": [s.to_dict() for s in self.steps],
            "pairs": [{"source": link.source.name if link.source else None,
                       "target": link.target.name if link.target else None, "fenced": link.fenced,
                       "promoted": link.promoted, "source_last": link.source_last_text,
                       "lost": link.lost_bytes} for link in self.links],
            "notes": self.notes,
            "components": self.components(),
        }
