"""What PAM does with a stack: the paths libpam can take through it, by pam.conf(5).

A stack is walked module by module; each module may succeed or fail (pam_permit
always succeeds, pam_deny always fails), and its control decides what that does:

    required   = [success=ok new_authtok_reqd=ok ignore=ignore default=bad]
    requisite  = [success=ok new_authtok_reqd=ok ignore=ignore default=die]
    sufficient = [success=done new_authtok_reqd=done default=ignore]
    optional   = [success=ok new_authtok_reqd=ok default=ignore]

ok: the module's result counts unless the stack has already failed; bad: the stack
fails; die: fails and stops; done: ok and stops; ignore: nothing; reset: forget; N:
ok, then jump over the next N modules. The stack succeeds when something said ok with
success and nothing said bad. `include` inlines another file's lines of the same type;
`substack` too, but its done, die and jumps end the substack only (pam.conf(5),
"include", "substack").

Rules ask questions of the paths that end in success ("is pam_pwquality passed on
every way a password can be changed?") or of paths through a module ("does every
failed pam_unix reach pam_faillock authfail?").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mzops.facts.pam import PamEntry, Substack, items

SIMPLE = {
    "required": {"success": "ok", "new_authtok_reqd": "ok", "ignore": "ignore", "default": "bad"},
    "requisite": {"success": "ok", "new_authtok_reqd": "ok", "ignore": "ignore", "default": "die"},
    "sufficient": {"success": "done", "new_authtok_reqd": "done", "default": "ignore"},
    "optional": {"success": "ok", "new_authtok_reqd": "ok", "default": "ignore"},
}
ALWAYS = {"pam_permit.so": ("success",), "pam_deny.so": ("failure",)}
SUCCESS, FAILURE = "success", "failure"
MAX_PATHS = 20000   # a bound against pathological stacks (jump loops cannot happen: jumps go forward)


def actions(control: str) -> dict[str, str]:
    if control in SIMPLE:
        return SIMPLE[control]
    out = {}
    for item in control.strip("[]").split():
        value, _, action = item.partition("=")
        out[value.lower()] = action.lower()
    return out


@dataclass(frozen=True)
class Step:
    entry: PamEntry
    result: str          # success | failure


@dataclass
class Path:
    steps: list[Step] = field(default_factory=list)
    outcome: str = FAILURE

    def ran(self, module: str, result: str | None = None) -> list[int]:
        return [i for i, s in enumerate(self.steps)
                if s.entry.module == module and (result is None or s.result == result)]


def _walk(stack: tuple, start: int, state: tuple[bool, bool], steps: list[Step],
          budget: list[int]) -> list[tuple[list[Step], tuple[bool, bool], bool]]:
    """Every (steps, (succeeded, failed), stopped) from START to the end of STACK."""
    budget[0] += 1
    if budget[0] > MAX_PATHS:
        raise ValueError("PAM stack has too many paths to follow")
    if start >= len(stack):
        return [(steps, state, False)]
    item = stack[start]
    if isinstance(item, Substack):
        ends = []
        for sub_steps, sub_state, _ in _walk(item.entries, 0, (False, False), list(steps), budget):
            succeeded, failed = state
            # The substack's result is that of one module whose control is ok/bad.
            s_ok, s_bad = sub_state
            if s_bad:
                failed = True
            elif s_ok and not failed:
                succeeded = True
            ends += _walk(stack, start + 1, (succeeded, failed), sub_steps, budget)
        return ends
    results = ALWAYS.get(item.module, (SUCCESS, FAILURE))
    table = actions(item.control)
    ends = []
    for result in results:
        if result == SUCCESS:
            action = table.get("success", table.get("default", "ignore"))
            branches = [action]
        else:  # every failure value the control names, and the rest (default)
            named = [a for v, a in table.items() if v not in ("success", "default", "new_authtok_reqd", "ignore")]
            branches = sorted(set(named) | {table.get("default", "bad")})
        for action in branches:
            succeeded, failed = state
            path = steps + [Step(item, result)]
            jump = 0
            if action in ("ok", "done") or action.isdigit():
                if result == FAILURE:
                    failed = True   # ok takes the module's code: a failure unless already failed
                elif not failed:
                    succeeded = True
                jump = int(action) if action.isdigit() else 0
            elif action in ("bad", "die"):
                failed = True
            elif action == "reset":
                succeeded, failed = False, False
            if action in ("done", "die"):
                ends.append((path, (succeeded, failed), True))
                continue
            ends += _walk(stack, start + 1 + jump, (succeeded, failed), path, budget)
    return ends


def paths(facts, service: str, kind: str) -> list[Path]:
    """Every way through the KIND stack of SERVICE, with how it ends."""
    stack = items(facts, service, kind)
    out = []
    for steps, (succeeded, failed), _ in _walk(stack, 0, (False, False), [], [0]):
        out.append(Path(steps, SUCCESS if succeeded and not failed else FAILURE))
    return out

