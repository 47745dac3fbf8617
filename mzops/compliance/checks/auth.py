"""Identity and authentication: PAM, passwords, accounts, sudo, su, shell sessions."""

from __future__ import annotations

import re
from collections import defaultdict

from mzops.compliance.checks import ERROR, FAIL, MANUAL, PASS, Context, Outcome, check
from mzops.facts import Line, PamEntry, meaningful_lines, pamwalk
from mzops.facts.text import libpam_conf
from mzops.facts.sudo import defaults as sudo_defaults_of
from mzops.facts.sudo import user_specs
from mzops.facts.accounts import useradd_number


def _stacks(ctx: Context, which: str) -> dict[str, list[PamEntry]]:
    """The platform's login stacks that exist on the host, resolved, one phase each."""
    names = ctx.platform.password_stacks if which == "password" else ctx.platform.auth_stacks
    return {name: ctx.facts.pam_stack(name, which) for name in names
            if ctx.facts.file(f"/etc/pam.d/{name}") is not None}


def _no_stacks(ctx: Context, which: str, expected: str) -> Outcome:
    names = ctx.platform.password_stacks if which == "password" else ctx.platform.auth_stacks
    return Outcome(ERROR, expected, f"no PAM {which} stack found ({', '.join(names) or 'unknown platform'})", [])


def _modules(entries: list[PamEntry], names: tuple[str, ...]) -> list[PamEntry]:
    return [e for e in entries if e.module in names]


# ------------------------------------------------------------------ the stack as PAM runs it

def _bypasses(ctx: Context, name: str, kind: str, modules: tuple[str, ...], counts=lambda entry: True) -> list[str]:
    """The ways through stack NAME that succeed without one of MODULES passing (and,
    with COUNTS, doing what the rule asks of it)."""
    out = []
    for path in pamwalk.paths(ctx.facts, name, kind):
        if path.outcome != pamwalk.SUCCESS:
            continue
        if not any(s.entry.module in modules and s.result == pamwalk.SUCCESS and counts(s.entry) for s in path.steps):
            through = " -> ".join(f"{s.entry.module} {s.result}" for s in path.steps) or "no module"
            out.append(f"/etc/pam.d/{name}: {kind} succeeds through {through} without {'/'.join(modules)} passing")
    return out


# ------------------------------------------------------------------ password quality

QUALITY_MODULES = ("pam_pwquality.so", "pam_cracklib.so")
# libpwquality's settings (src/settings.c, s_map): any other name stops its reading.
PWQUALITY_KEYS = ("difok", "minlen", "dcredit", "ucredit", "lcredit", "ocredit", "minclass", "maxrepeat",
                  "maxclassrepeat", "maxsequence", "gecoscheck", "dictcheck", "usercheck", "usersubstr",
                  "enforcing", "badwords", "dictpath", "retry", "enforce_for_root", "local_users_only")
PWQUALITY_DEFAULTS = {"minlen": "8", "minclass": "0", "enforcing": "1"}   # pwquality.conf(5)


def _pwquality_files(ctx: Context) -> list[str]:
    """libpwquality's order (src/settings.c, pwquality_read_config): the *.conf files of
    pwquality.conf.d first, by strcmp of their names, then pwquality.conf, which wins."""
    drop_ins = sorted((p for p in ctx.facts.files("/etc/security/pwquality.conf.d/*")
                       if p.rsplit("/", 1)[1].endswith(".conf")), key=lambda p: p.encode())
    return [*drop_ins, "/etc/security/pwquality.conf"]


def _pwquality(ctx: Context, entries: list[PamEntry]) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """Effective settings: the files in libpwquality's order, then the module's
    arguments (pam_pwquality.c reads the configuration first). Also what stopped a read."""
    values: dict[str, tuple[str, str]] = {}
    notes = []
    for path in _pwquality_files(ctx):
        found, stopped = libpam_conf(path, ctx.facts.file(path) or "", PWQUALITY_KEYS, fold_case=True)
        values.update({k: (v, str(line)) for k, (v, line) in found.items()})
        if stopped:
            notes.append(f"{path}: unknown setting {stopped!r}: libpwquality stops reading there "
                         "(and reads no file after it)")
            break
    for entry in entries:
        for arg in entry.args:
            key, _, value = arg.partition("=")
            if key.lower() in PWQUALITY_KEYS:
                values[key.lower()] = (value, str(entry.origin))
    return values, notes


@check("pwquality", needs=("pam",))
def pwquality(ctx: Context) -> Outcome:
    """setting: minlen | minclass | enforce_for_root; the password stacks cannot succeed
    without pam_pwquality passing, and it enforces (enforcing != 0)."""
    stacks = _stacks(ctx, "password")
    what = ctx.args["setting"]
    minimum = ctx.args.get("min")
    expected = {"minlen": f"minlen >= {minimum}", "minclass": f"at least {minimum} character classes",
                "enforce_for_root": "enforce_for_root set"}[what] + \
        ", no way to change a password without pam_pwquality passing"
    if not stacks:
        return _no_stacks(ctx, "password", expected)
    bypasses = [b for name in stacks for b in _bypasses(ctx, name, "password", QUALITY_MODULES)]
    if bypasses:
        return Outcome(FAIL, expected, "pam_pwquality can be bypassed", bypasses)
    entries = [e for stack in stacks.values() for e in _modules(stack, QUALITY_MODULES)]
    values, notes = _pwquality(ctx, entries)
    enforcing = values.get("enforcing", ("1", "default enforcing=1"))
    if enforcing[0].lstrip("-").isdigit() and int(enforcing[0]) == 0:
        return Outcome(FAIL, expected, "enforcing = 0: weak passwords are only warned about", [enforcing[1]])
    if what == "enforce_for_root":
        found = values.get("enforce_for_root")
        return Outcome(PASS if found else FAIL, expected, "set" if found else "not set",
                       ([found[1]] if found else ["enforce_for_root in neither pwquality.conf nor module arguments"])
                       + notes)
    if what == "minlen":
        value, where = values.get("minlen", ("8", "built-in default minlen 8 (libpwquality)"))
        # pam_cracklib counts credits towards minlen; pwquality does the same: the
        # length a user must type is at least minlen - credits, so be strict here.
        ok = value.isdigit() and int(value) >= int(minimum)
        return Outcome(PASS if ok else FAIL, expected, f"minlen {value}", [where, *notes])
    classes, evidence = 0, []
    minclass = values.get("minclass")
    if minclass and minclass[0].isdigit():
        classes = int(minclass[0])
        evidence.append(minclass[1])
    required = [k for k in ("dcredit", "ucredit", "lcredit", "ocredit")
                if values.get(k) and values[k][0].lstrip("-").isdigit() and int(values[k][0]) < 0]
    if len(required) > classes:
        classes = len(required)
        evidence = [values[k][1] for k in required]
    return Outcome(PASS if classes >= int(minimum) else FAIL, expected,
                   f"{classes} class(es) required", (evidence or ["no minclass or negative credits set"]) + notes)


# ------------------------------------------------------------------ lockout

LOCK_MODULES = ("pam_faillock.so", "pam_tally2.so", "pam_tally.so")
PASSWORD_MODULES = ("pam_unix.so", "pam_unix2.so", "pam_sss.so", "pam_ldap.so")
FAILLOCK_DEFAULTS = {"deny": "3", "unlock_time": "600"}   # faillock.conf(5)


def _lock_paths(ctx: Context, name: str) -> list[str]:
    """Where a password can be tried without the lock doing its part (pam.conf(5) walk):
    the lock's check (faillock preauth, pam_tally2) must run before the password module
    and a failed check must not end in success; every failed password must reach
    faillock authfail (pam_tally2 counts in its own auth call)."""
    problems = []
    for path in pamwalk.paths(ctx.facts, name, "auth"):
        tried = [i for m in PASSWORD_MODULES for i in path.ran(m)]
        if not tried:
            continue
        first = min(tried)
        steps = path.steps
        checks = [i for i, s in enumerate(steps) if s.entry.module in ("pam_tally2.so", "pam_tally.so")
                  or (s.entry.module == "pam_faillock.so" and "preauth" in s.entry.args)]
        if not any(i < first for i in checks):
            problems.append(f"/etc/pam.d/{name}: {steps[first].entry.module} can be reached without the lock's "
                            f"check before it ({steps[first].entry.origin})")
        if path.outcome == pamwalk.SUCCESS and any(steps[i].result == pamwalk.FAILURE for i in checks):
            problems.append(f"/etc/pam.d/{name}: a locked account still logs in (the lock's check fails and "
                            "the stack succeeds)")
        failed = [i for i in tried if steps[i].result == pamwalk.FAILURE]
        uses_faillock = any(steps[i].entry.module == "pam_faillock.so" for i in checks)
        if failed and uses_faillock and not any(s.entry.module == "pam_faillock.so" and "authfail" in s.entry.args
                                                for s in steps[min(failed):]):
            problems.append(f"/etc/pam.d/{name}: a failed password does not reach pam_faillock authfail "
                            "(failures are not counted)")
    return sorted(set(problems))


@check("pam_lockout", needs=("pam",))
def pam_lockout(ctx: Context) -> Outcome:
    """Lock after at most `deny` failures for at least `unlock_time` s, in every auth stack."""
    deny_max, unlock_min = int(ctx.args["deny_max"]), int(ctx.args["unlock_min"])
    expected = (f"pam_faillock (preauth + authfail) in every auth stack, deny <= {deny_max}, "
                f"unlock_time >= {unlock_min} (0 or never = until an admin unlocks)")
    stacks = _stacks(ctx, "auth")
    if not stacks:
        return _no_stacks(ctx, "auth", expected)
    found, _ = libpam_conf("/etc/security/faillock.conf", ctx.facts.file("/etc/security/faillock.conf") or "")
    conf = {k: (v, str(line)) for k, (v, line) in found.items()}
    problems, evidence = [], []
    for name, entries in stacks.items():
        locks = _modules(entries, LOCK_MODULES)
        if not locks:
            problems.append(f"/etc/pam.d/{name}: no pam_faillock or pam_tally2 in the auth stack")
            continue
        evidence += [str(e.origin) for e in locks]
        problems += _lock_paths(ctx, name)
        tally = locks[0].module != "pam_faillock.so"
        # pam_faillock reads faillock.conf, then its arguments (pam_faillock.c); pam_tally2
        # reads no file and has no default deny: without deny= it never locks (pam_tally2(8)).
        settings = {} if tally else dict(conf)
        for entry in locks:
            for arg in entry.args:
                key, _, value = arg.partition("=")
                settings[key] = (value, str(entry.origin))
        if tally:
            deny = settings.get("deny", ("", f"/etc/pam.d/{name}: pam_tally2 without deny= never locks"))
            unlock = settings.get("unlock_time", ("0", "pam_tally2: no unlock_time (locked until reset)"))
        else:
            deny = settings.get("deny", (FAILLOCK_DEFAULTS["deny"], "pam_faillock default deny=3"))
            unlock = settings.get("unlock_time", (FAILLOCK_DEFAULTS["unlock_time"], "pam_faillock default unlock_time=600"))
        if not deny[0].isdigit() or int(deny[0]) == 0 or int(deny[0]) > deny_max:
            problems.append(f"{deny[1]} (deny={deny[0]})")
        permanent = unlock[0] == "never" and not tally      # faillock_config.c: never = 0
        if not permanent and (not unlock[0].isdigit() or 0 < int(unlock[0]) < unlock_min):
            problems.append(f"{unlock[1]} (unlock_time={unlock[0]})")
        if ctx.args.get("even_deny_root") and "even_deny_root" not in settings:
            problems.append(f"/etc/pam.d/{name}: root is not locked too (even_deny_root)")
    return Outcome(FAIL if problems else PASS, expected, "; ".join(problems) or "as expected",
                   problems + evidence)


@check("pam_no_nullok", needs=("pam",))
def pam_no_nullok(ctx: Context) -> Outcome:
    found = [e for name in {*ctx.platform.auth_stacks, *ctx.platform.password_stacks}
             for e in ctx.facts.pam_stack(name) if e.module == "pam_unix.so" and "nullok" in e.args]
    unique = sorted({str(e.origin) for e in found})
    return Outcome(FAIL if unique else PASS, "pam_unix without nullok (no login with an empty password)",
                   "nullok present" if unique else "no nullok", unique)


@check("pam_history", needs=("pam",))
def pam_history(ctx: Context) -> Outcome:
    remember = int(ctx.args["remember"])
    expected = f"the last {remember} passwords cannot be reused (pam_pwhistory or pam_unix remember)"
    stacks = _stacks(ctx, "password")
    if not stacks:
        return _no_stacks(ctx, "password", expected)
    conf = {k: v for k, (v, _) in libpam_conf("/etc/security/pwhistory.conf",
                                               ctx.facts.file("/etc/security/pwhistory.conf") or "")[0].items()}
    problems, evidence = [], []
    for name in stacks:
        # pam_unix keeps a history only with remember= (pam_unix(8)); pam_pwhistory always.
        problems += _bypasses(ctx, name, "password", ("pam_pwhistory.so", "pam_unix.so"),
                              lambda e: e.module == "pam_pwhistory.so" or e.arg("remember") is not None)
    for name, entries in stacks.items():
        best = None
        for entry in entries:
            if entry.module in ("pam_pwhistory.so", "pam_unix.so"):
                value = entry.arg("remember")
                if value is None and entry.module == "pam_pwhistory.so":
                    value = conf.get("remember", "10")
                if value and value.isdigit():
                    best = max(best or 0, int(value))
                    evidence.append(str(entry.origin))
        if best is None or best < remember:
            problems.append(f"/etc/pam.d/{name}: remembers {best or 0} passwords")
    return Outcome(FAIL if problems else PASS, expected, "; ".join(problems) or "as expected", problems + evidence)


# ------------------------------------------------------------------ hashes and ageing

STRONG_HASHES = {"6": "sha512", "y": "yescrypt", "gy": "gost-yescrypt", "7": "scrypt", "sm3": "sm3"}


@check("password_hashing", needs=("accounts", "pam"))
def password_hashing(ctx: Context) -> Outcome:
    """New passwords hashed with SHA-512/yescrypt/SM3 (login.defs and pam_unix)."""
    allowed = [a.lower() for a in ctx.args["allowed"]]
    expected = f"ENCRYPT_METHOD and pam_unix use one of {', '.join(allowed)}"
    method = ctx.facts.login_defs.get("ENCRYPT_METHOD")
    problems, evidence = [], []
    if method is None:
        problems.append("/etc/login.defs: ENCRYPT_METHOD not set (DES by default for some tools)")
    elif method[0].lower() not in allowed:
        problems.append(str(method[1]))
    else:
        evidence.append(str(method[1]))
    for name, entries in _stacks(ctx, "password").items():
        for entry in _modules(entries, ("pam_unix.so",)):
            algos = [a for a in entry.args if a in ("md5", "bigcrypt", "sha256", "sha512", "blowfish", "yescrypt",
                                                   "gost_yescrypt", "sm3")]
            if any(a not in allowed for a in algos):
                problems.append(str(entry.origin))
            else:
                evidence.append(str(entry.origin))
    return Outcome(FAIL if problems else PASS, expected, "; ".join(problems) or "strong hashing", problems + evidence)


@check("stored_hashes", needs=("accounts",))
def stored_hashes(ctx: Context) -> Outcome:
    """No account still holds an MD5, DES or other weak password hash."""
    weak = [e for e in ctx.facts.shadow.values()
            if e.state in ("password", "locked") and e.algorithm and e.algorithm not in STRONG_HASHES]
    return Outcome(FAIL if weak else PASS, "every stored password hash is SHA-512, yescrypt or SM3",
                   ", ".join(f"{e.name} ({e.algorithm})" for e in weak) or "all strong",
                   [f"/etc/shadow: {e.name}: hash type {e.algorithm}" for e in weak])


@check("empty_passwords", needs=("accounts",))
def empty_passwords(ctx: Context) -> Outcome:
    empty = [e.name for e in ctx.facts.shadow.values() if e.state == "empty"]
    if not ctx.facts.shadow:
        return Outcome(ERROR, "no account with an empty password", "/etc/shadow could not be read",
                       [(ctx.facts.text("shadow") or "").strip()[:200]])
    # passwd(5): an empty password field in /etc/passwd itself means no password (shadow
    # is consulted only when the field is "x").
    in_passwd = [a for a in ctx.facts.accounts if a.password == ""]
    evidence = [f"/etc/shadow: {name}: empty password field" for name in empty]
    evidence += [f"{a.origin.path}:{a.origin.number}: {a.name}: empty password field in /etc/passwd" for a in in_passwd]
    names = sorted(set(empty) | {a.name for a in in_passwd})
    return Outcome(FAIL if names else PASS, "no account with an empty password", ", ".join(names) or "none", evidence)


@check("account_max_age", needs=("accounts",))
def account_max_age(ctx: Context) -> Outcome:
    """Accounts that can log in with a password have a maximum password age."""
    max_days = int(ctx.args["max_days"])
    # shadow(5): an empty field (or -1, as shadow-utils writes "none") is no maximum age.
    expected = f"password max age <= {max_days} days for every account with a password"
    if not ctx.facts.shadow:
        return Outcome(ERROR, expected, "/etc/shadow could not be read", [(ctx.facts.text("shadow") or "").strip()[:200]])
    bad = [e for e in ctx.facts.shadow.values()
           if e.state == "password" and (e.max_days is None or e.max_days < 0 or e.max_days > max_days)]
    # passwd(5): "x" sends the password to shadow; an account with a login shell and no
    # shadow entry has no aging at all (pwck: "no matching password file entry") and can
    # still log in with a key.
    orphans = [a for a in ctx.facts.accounts if a.password == "x" and a.name not in ctx.facts.shadow
               and a.shell in ctx.facts.login_shells]
    named = [f"{e.name} ({e.max_days if e.max_days is not None else 'none'})" for e in bad]
    named += [f"{a.name} (no shadow entry)" for a in orphans]
    return Outcome(FAIL if named else PASS, expected, ", ".join(named) or "all within",
                   [f"/etc/shadow: {e.name}: max {e.max_days}" for e in bad]
                   + [f"{a.origin}: {a.name} has a login shell and no /etc/shadow entry" for a in orphans])


# ------------------------------------------------------------------ accounts

def _duplicates(pairs: list[tuple[object, str]]) -> dict[object, list[str]]:
    seen: dict[object, list[str]] = defaultdict(list)
    for key, where in pairs:
        seen[key].append(where)
    return {k: v for k, v in sorted(seen.items(), key=lambda kv: str(kv[0])) if len(v) > 1}


@check("useradd_inactive", needs=("accounts",))
def useradd_inactive(ctx: Context) -> Outcome:
    """useradd's default INACTIVE for new accounts, read as useradd reads it: a value it
    cannot parse, or one below -1, is ignored with a warning and -1 (never) is used."""
    low, high = ctx.args["range"]
    expected = f"INACTIVE between {low} and {high} in /etc/default/useradd"
    if ctx.facts.file("/etc/default/useradd") is None:
        return Outcome(FAIL, expected, "INACTIVE -1 (no /etc/default/useradd)", ["/etc/default/useradd: not found"])
    found = ctx.facts.useradd_defaults.get("INACTIVE")
    if found is None:
        return Outcome(FAIL, expected, "INACTIVE -1 (not set)",
                       ["/etc/default/useradd: no line starts with INACTIVE= (useradd uses -1, never)"])
    text, line = found
    value = useradd_number(text)
    if value is None or value < -1:
        return Outcome(FAIL, expected, "INACTIVE -1 (value ignored)",
                       [f"{line} -- useradd: invalid numeric argument {text!r}, -1 used"])
    return Outcome(PASS if low <= value <= high else FAIL, expected, f"INACTIVE {value}", [str(line)])


@check("unique_ids", needs=("accounts",))
def unique_ids(ctx: Context) -> Outcome:
    """what: uid | name | gid | group_name. Sorted before counting (no uniq-without-sort miss)."""
    what = ctx.args["what"]
    if what in ("uid", "name"):
        pairs = [((a.uid if what == "uid" else a.name), str(a.origin)) for a in ctx.facts.accounts]
        source = "/etc/passwd"
    else:
        pairs = [((gid if what == "gid" else name), str(line)) for name, gid, _, line in ctx.facts.groups]
        source = "/etc/group"
    if not pairs:
        return Outcome(ERROR, f"unique {what}s", f"{source} could not be read", [])
    dups = _duplicates(pairs)
    return Outcome(FAIL if dups else PASS, f"every {what} in {source} is unique",
                   ", ".join(f"{k} x{len(v)}" for k, v in dups.items()) or "all unique",
                   [w for ws in dups.values() for w in ws])


@check("uid0_only_root", needs=("accounts",))
def uid0_only_root(ctx: Context) -> Outcome:
    others = [a for a in ctx.facts.accounts if a.uid == 0 and a.name != "root"]
    return Outcome(FAIL if others else PASS, "only root has UID 0",
                   ", ".join(a.name for a in others) or "only root", [str(a.origin) for a in others])


@check("system_accounts_locked", needs=("accounts",))
def system_accounts_locked(ctx: Context) -> Outcome:
    """System accounts (UID below UID_MIN) have no login shell or a locked password."""
    uid_min = ctx.facts.uid_min()
    exempt = set(ctx.args.get("exempt", ["root", "sync", "shutdown", "halt"]))
    shells = ctx.facts.login_shells
    bad = []
    for account in ctx.facts.accounts:
        if account.uid >= uid_min or account.name in exempt or account.shell not in shells:
            continue
        shadow = ctx.facts.shadow.get(account.name)
        if shadow is None or shadow.state in ("password", "empty"):
            bad.append(account)
    return Outcome(FAIL if bad else PASS, f"accounts below UID {uid_min} have no login shell or a locked password",
                   ", ".join(a.name for a in bad) or "all locked down", [str(a.origin) for a in bad])


@check("su_restricted", needs=("pam",))
def su_restricted(ctx: Context) -> Outcome:
    # pam_wheel(8): with deny it refuses the group's members and admits everyone else;
    # with trust it lets them in without a password. Neither restricts su; and it must
    # stand on every way through su's auth stack.
    restricts = lambda e: "trust" not in e.args and "deny" not in e.args  # noqa: E731
    wheel = [e for e in ctx.facts.pam_stack("su", "auth") if e.module == "pam_wheel.so" and restricts(e)]
    # (root itself passes pam_rootok: that way is no hole)
    if wheel and _bypasses(ctx, "su", "auth", ("pam_wheel.so", "pam_rootok.so"),
                           lambda e: e.module == "pam_rootok.so" or restricts(e)):
        wheel = []
    return Outcome(PASS if wheel else FAIL, "su limited to an admin group by pam_wheel (auth required)",
                   "pam_wheel active" if wheel else "anyone who knows root's password can su",
                   [str(e.origin) for e in wheel] or ["/etc/pam.d/su: pam_wheel.so commented out or absent"])


# ------------------------------------------------------------------ sudo

@check("sudo_nopasswd", needs=("sudo",))
def sudo_nopasswd(ctx: Context) -> Outcome:
    allowed = set(ctx.args.get("allowed", []))
    bad = [str(line) for who, rest, line in user_specs(ctx.facts.sudoers)
           if "NOPASSWD:" in rest and not set(who) <= allowed]
    bad += [str(line) for line in ctx.facts.sudoers
            if re.match(r"^Defaults\b.*!authenticate", line.text)]
    return Outcome(FAIL if bad else PASS,
                   f"no NOPASSWD in sudoers except for {', '.join(sorted(allowed)) or 'nobody'}",
                   f"{len(bad)} line(s)" if bad else "none", bad)


@check("sudo_all", needs=("sudo",))
def sudo_all(ctx: Context) -> Outcome:
    """Unrestricted `ALL` commands only for the approved admin principals."""
    allowed = set(ctx.args.get("allowed", []))
    bad = [str(line) for who, line in ctx.facts.sudo_all_grants if not set(who) <= allowed]
    return Outcome(FAIL if bad else PASS,
                   f"sudo ALL only for {', '.join(sorted(allowed))}", f"{len(bad)} line(s)" if bad else "none", bad)


@check("sudo_defaults", needs=("sudo",))
def sudo_defaults(ctx: Context) -> Outcome:
    """Global Defaults in force after sudo applies them in order (a later `!name` undoes
    an earlier `name`, sudoers(5)); a scoped Defaults (`Defaults:user`, `@host`,
    `>runas`, `!command`) that turns one off exempts someone, and is a finding too."""
    wanted = ctx.args["defaults"]
    entries = sudo_defaults_of(ctx.facts.sudoers)
    missing, evidence = [], []
    for name in wanted:
        state = None
        for d in entries:
            if d.name == name and not d.scope:
                state = d
        exempt = [d for d in entries if d.name == name and d.scope and d.negated]
        if state is None or state.negated:
            missing.append(name)
            evidence.append(str(state.line) + f" (turns {name} off)" if state else f"sudoers: no Defaults {name}")
        elif exempt:
            missing.append(f"{name} (not for {', '.join(d.scope for d in exempt)})")
            evidence += [str(d.line) for d in exempt]
        else:
            evidence.append(str(state.line))
    return Outcome(FAIL if missing else PASS, f"Defaults {', '.join(wanted)}",
                   f"missing: {', '.join(missing)}" if missing else "all set", evidence)


# ------------------------------------------------------------------ shell sessions

PROFILE_FILES = ("/etc/profile", "/etc/profile.d/*.sh", "/etc/bash.bashrc", "/etc/bashrc")


def _profile_lines(ctx: Context) -> list[Line]:

    out = []
    for pattern in PROFILE_FILES:
        for path, text in ctx.facts.files(pattern).items():
            out += meaningful_lines(path, text)
    return out


TMOUT_ASSIGN = re.compile(r"""\bTMOUT=(["']?)(\d+)\1(?=[\s;]|$)""")


_OPENS, _CLOSES = ("if", "case", "while", "until"), ("fi", "esac", "done")


def _inside_condition(ctx: Context, line: Line) -> bool:
    """Whether LINE stands inside an if/case/while block of its file (sh's grammar) whose
    condition is about something else than TMOUT itself: `if [ "$TMOUT" != 600 ]; then
    TMOUT=600; fi` sets it for everyone (the idiom that survives being sourced twice)."""
    def words(text: str) -> list[str]:
        return re.findall(r"(?:^|[;&|(\s])(if|case|while|until|fi|esac|done)(?=[\s;]|$)", text)

    opened: list[str] = []   # the text of each block open at LINE
    for other in meaningful_lines(line.path, ctx.facts.file(line.path) or ""):
        if other.number >= line.number:
            break
        for word in words(other.text):
            if word in _OPENS:
                opened.append(other.text)
            elif opened:
                opened.pop()
    if re.search(r"(?:^|[;\s])if\s", line.text):
        opened.append(line.text.split("then")[0])
    return any("TMOUT" not in condition for condition in opened)


@check("shell_timeout", needs=("profile",))
def shell_timeout(ctx: Context) -> Outcome:
    max_seconds = int(ctx.args["max_seconds"])
    expected = f"TMOUT between 1 and {max_seconds}, readonly and exported, in the login profile"
    lines = _profile_lines(ctx)
    # bash(1): TMOUT=600, TMOUT="600", readonly/declare -r/typeset -r/export TMOUT=600
    values = [(int(m.group(2)), line) for line in lines for m in [TMOUT_ASSIGN.search(line.text)] if m]
    if not values:
        return Outcome(FAIL, expected, "TMOUT not set", ["no TMOUT= in /etc/profile, profile.d or bashrc"])
    conditional = [line for _, line in values if _inside_condition(ctx, line)]
    if conditional and len(conditional) == len(values):
        return Outcome(MANUAL, expected, "TMOUT is set only inside a condition: check whom it applies to",
                       [str(line) for line in conditional])
    readonly = any(re.search(r"\b(readonly|declare\s+-\w*r\w*|typeset\s+-\w*r\w*)\b.*TMOUT", line.text)
                   for line in lines)
    exported = any(re.search(r"\bexport\b.*\bTMOUT\b|\b(declare|typeset)\s+-\w*x\w*\b.*TMOUT|readonly\s+-x", line.text)
                   for line in lines)
    value, where = [(v, line) for v, line in values if line not in conditional][-1]   # the one that stands
    problems = []
    if not 0 < value <= max_seconds:
        problems.append(f"TMOUT={value}")
    if not readonly:
        problems.append("not readonly (a user can unset it)")
    if not exported:
        problems.append("not exported")
    return Outcome(FAIL if problems else PASS, expected, "; ".join(problems) or f"TMOUT={value}",
                   [str(line) for _, line in values])


@check("umask", needs=("accounts", "profile"))
def umask(ctx: Context) -> Outcome:
    """Default umask at least as strict as the required one everywhere it is set."""
    required = int(str(ctx.args["umask"]), 8)
    found = []
    login = ctx.facts.login_defs.get("UMASK")
    if login:
        found.append((login[0], login[1]))
    for line in _profile_lines(ctx):
        match = re.match(r"^\s*umask\s+(0?[0-7]{3})\b", line.text)
        if match:
            found.append((match.group(1), line))
    expected = f"umask {required:03o} or stricter in login.defs and login profiles"
    if not found:
        return Outcome(FAIL, expected, "no umask set", ["UMASK not in /etc/login.defs and no umask in profiles"])
    weak = [(v, line) for v, line in found if (int(v, 8) & required) != required]
    return Outcome(FAIL if weak else PASS, expected,
                   ", ".join(f"{v}" for v, _ in weak) or "strict enough", [str(line) for _, line in weak or found])


# ------------------------------------------------------------------ multi-factor

MFA_MODULES = ("pam_google_authenticator.so", "pam_oath.so", "pam_u2f.so", "pam_pkcs11.so",
               "pam_yubico.so", "pam_radius_auth.so", "pam_duo.so", "pam_sss_gss.so")


@check("mfa", needs=("pam", "sshd"))
def mfa(ctx: Context) -> Outcome:
    """A second factor on the host, or (manual) proof that logins pass a 2FA bastion."""
    expected = "two factors for admin logins (OTP/U2F/certificate in PAM, or two sshd AuthenticationMethods)"
    modules = [e for e in ctx.facts.pam_stack("sshd", "auth") if e.module in MFA_MODULES]
    methods = (ctx.facts.sshd.get("authenticationmethods") or ["any"])[0]
    two_methods = any("," in chain for chain in methods.split())
    if modules or two_methods:
        return Outcome(PASS, expected, "second factor configured",
                       [str(e.origin) for e in modules] + ([f"sshd -T: authenticationmethods {methods}"] if two_methods else []))
    return Outcome(MANUAL, expected, "no second factor on the host",
                   ["no OTP/U2F/PKCS#11 module in /etc/pam.d/sshd; sshd -T: authenticationmethods "
                    f"{methods}", "confirm that every admin login passes a two-factor bastion"])
