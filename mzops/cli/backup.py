"""mzops backup: file backups to tape, as the scheduler and operators run them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import List, Optional

import typer

from mzops import run as runlayer
from mzops.backup import copy, database, engine, offsite, policy as backup_policy, restore as restoring, volume
from mzops.backup.catalogue import Catalogue
from mzops.backup.library import Drives, Mounter, open_library
from mzops.cli import common
from mzops.cli.inventory import load_estate
from mzops.errors import InputError

app = typer.Typer(help="File backups to tape: run, list, restore, verify, tapes.", no_args_is_help=True)
RECORDS = runlayer.Records("backup")
LEVELS = ("full", "differential", "incremental")


def _policy(ctx: typer.Context, estate=None) -> backup_policy.Policy:
    return backup_policy.load(backup_policy.folder_of(common.options(ctx).inventory), estate)


@app.command("run")
def run_cmd(
    ctx: typer.Context,
    jobs: Optional[List[str]] = typer.Argument(None, help="Jobs to run (default: every job)."),
    level: Optional[str] = typer.Option(None, "--level", help="full, differential or incremental "
                                        "(default: as the job's levels say)."),
    no_copy: bool = typer.Option(False, "--no-copy", help="Leave the copies to the DR site's library "
                                 "(pools with copy_to) to a later `backup copy`."),
    as_json: bool = common.JsonOption,
) -> None:
    """Run backup jobs: no prompts, one run at a time (a lock), the libraries' drives
    used at once, then the copies for the DR site and the volumes' manifests; exit 0
    when every asset was backed up and copied, 1 when one failed, 3 when one was unreachable."""
    if level is not None and level not in LEVELS:
        raise InputError(f"--level: one of {', '.join(LEVELS)} (got {level!r})")
    estate = load_estate(ctx)
    found = _policy(ctx, estate)
    names = jobs or sorted(found.jobs)
    for name in names:
        if name not in found.jobs:
            raise InputError(f"job {name!r}: not in {found.folder}/jobs.yml (jobs: {', '.join(sorted(found.jobs))})")
    catalogue = Catalogue()
    run_id = common.run_id()
    events = common.events(ctx)
    units = [(name, asset) for name in names for asset in sorted(estate.expand(found.jobs[name].assets))]
    drives, manifests = Drives(found), {}
    with runlayer.exclusive("backup", f"backup run {' '.join(names)}"):
        events.begin("backup", [f"{name}:{asset}" for name, asset in units])
        outcomes = runlayer.each(units, lambda unit: (
            database if found.jobs[unit[0]].kind == "database" else engine).back_up(
            found, unit[0], estate, unit[1], catalogue, run_id, common.resolver(ctx), level,
            drives=drives, manifests=manifests), found.parallel(names), events=events, outcome=lambda o: o)
        events.end()
        if not no_copy:
            made = [key for o in outcomes if o.state == "changed" for key in o.record.get("runs", [o.record["run"]])]
            outcomes += copy.copy_all(found, catalogue, drives, manifests, made, events)
        problems = engine.write_manifests(found, catalogue, manifests, drives)
    result = runlayer.Result("backup", run_id, outcomes)
    RECORDS.save(run_id, {**result.summary(), "jobs": names, "manifest_problems": problems,
                          "assets": [{**o.to_dict(), **(o.record or {})} for o in outcomes]})
    _finish(ctx, result, problems, as_json, "no asset to back up")


def _finish(ctx: typer.Context, result: runlayer.Result, problems: list[str], as_json: bool, empty: str) -> None:
    """A run's or a copy's outcomes, the manifests that could not be written, its exit code."""
    outcomes = result.outcomes
    if common.want_json(ctx, as_json):
        common.print_json({**result.summary(), "manifest_problems": problems,
                           "outcomes": [{**o.to_dict(), **(o.record or {})} for o in outcomes]})
    else:
        for line in problems:
            common.stderr.print(line, markup=False, highlight=False)
        for o in outcomes:
            common.stdout.print(f"{o.target:<20} {o.state:<12} {o.message}", markup=False, highlight=False)
        if not outcomes:
            common.progress(ctx, empty)
    code = result.exit_code() or (1 if problems else 0)
    if code:
        raise typer.Exit(code)


@app.command("copy")
def copy_cmd(ctx: typer.Context, as_json: bool = common.JsonOption) -> None:
    """Copy every run not yet copied from its pool to the pool its `copy_to` names (the
    DR site's library), each part's checksum checked as it is read; exit 1 when one failed."""
    found = _policy(ctx)
    catalogue = Catalogue()
    drives, manifests = Drives(found), {}
    with runlayer.exclusive("backup", "backup copy"):
        outcomes = copy.copy_all(found, catalogue, drives, manifests, None, common.events(ctx))
        problems = engine.write_manifests(found, catalogue, manifests, drives)
    _finish(ctx, runlayer.Result("backup copy", common.run_id(), outcomes), problems, as_json, "nothing to copy")


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    asset: Optional[str] = typer.Option(None, "--asset"),
    as_json: bool = common.JsonOption,
) -> None:
    """The catalogued runs: job, asset, level, when, size and volumes."""
    runs = Catalogue().listing(asset)
    if common.want_json(ctx, as_json):
        common.print_json(runs)
        return
    for r in runs:
        common.stdout.print(f"{r['finished']}  {r['job']:<14} {r['asset']:<16} {r['kind']:<5} level {r['level']}  "
                            f"{r['files']:>7} entries {r['bytes']:>12} bytes  {', '.join(r['volumes'])}",
                            markup=False, highlight=False)


@app.command("restore")
def restore_cmd(
    ctx: typer.Context,
    asset: str = typer.Option(..., "--asset"),
    to: Optional[str] = typer.Option(None, "--to", help="Files: a folder on this machine. A database: "
                                     "HOST[:DIR], an inventory host with the engine's programs, DIR new or empty "
                                     "(default: /var/lib/mzops/restore/ASSET-TIME)."),
    in_place: bool = typer.Option(False, "--in-place", help="A database: over its own server, which must be "
                                  "stopped (its data directory kept aside); a preview unless --apply."),
    apply: bool = typer.Option(False, "--apply", help="With --in-place: do it."),
    job: Optional[str] = typer.Option(None, "--job", help="The job (default: the one job that backed the "
                                      "asset up)."),
    path: Optional[List[str]] = typer.Option(None, "--path", help="Files: only this path (repeatable)."),
    at: Optional[str] = typer.Option(None, "--at", help="Files: the tree as of the last run finished before "
                                     "this time; a database: this very moment, replayed to (ISO 8601; UTC "
                                     "unless it says its zone)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Name what would be read: runs, logs, volumes "
                                 "and where they are."),
    library: Optional[str] = typer.Option(None, "--library", help="Read the volumes in this library (the DR "
                                          "site's, after an off-site move), not the pool's."),
    run: Optional[str] = typer.Option(None, "--run", help="Files: the tree as of this run (an id from "
                                      "backup list)."),
    as_json: bool = common.JsonOption,
) -> None:
    """Restore an asset: its files as of a time, level by level, or a database to a point
    in time into a scratch copy on a host; every part's checksum checked as it is read."""
    if at is not None:
        at = _utc(at)
    found = _policy(ctx)
    catalogue = Catalogue()
    common.note_targets([asset])
    job = job or _job_of(found, catalogue, asset)
    if job not in found.jobs:
        raise InputError(f"--job: no job {job!r} in {found.folder}/jobs.yml")
    if library is not None and library not in found.libraries:
        raise InputError(f"--library: no library {library!r} in {found.folder}/libraries.yml")
    if apply and not in_place:
        raise InputError("--apply is for --in-place (a restore elsewhere needs no confirmation: it changes no server)")
    if found.jobs[job].kind == "database":
        if in_place:
            if to is not None:
                raise InputError("--to and --in-place: a restore in place goes to the asset's own server")
            _restore_in_place(ctx, found, catalogue, job, asset, at, dry_run or not apply, library, as_json)
            return
        if to is None:
            raise InputError("--to: where the copy goes (HOST[:DIR]), or --in-place over the asset's own server")
        _restore_database(ctx, found, catalogue, job, asset, to, at, dry_run, library, bool(path or run), as_json)
        return
    if in_place:
        raise InputError("--in-place is for databases: files are restored into a folder (--to)")
    if to is None:
        raise InputError("--to: the folder the files are restored into")
    if dry_run:
        steps = restoring.plan(found, catalogue, job, asset, at, run, library)
    else:
        # the drives and cartridges are the nightly run's while it runs: a restore is refused then
        with runlayer.exclusive("backup", f"backup restore --job {job} --asset {asset}"):
            steps = restoring.restore(found, catalogue, job, asset, Path(to), at, list(path or []), library, run,
                                      common.resolver(ctx))
    data = {"job": job, "asset": asset, "to": str(to), "dry_run": dry_run,
            "steps": [{"run": s.run, "level": s.level, "finished": s.finished,
                       "parts": [{"volume": v, "file": f, "where": w} for v, f, w in s.parts]} for s in steps]}
    if common.want_json(ctx, as_json):
        common.print_json(data)
        return
    for s in steps:
        volumes = ", ".join(f"{v} file {f} ({w})" for v, f, w in s.parts)
        common.stdout.print(f"level {s.level}  {s.finished}  {s.run}: {volumes}", markup=False, highlight=False)
    if not dry_run:
        common.progress(ctx, f"restored {asset} into {to}")


def _utc(at: str) -> str:
    try:
        parsed = dt.datetime.fromisoformat(at)
    except ValueError:
        raise InputError(f"--at: not an ISO 8601 time: {at!r} (e.g. 2026-12-01T02:00:00+00:00)") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)).astimezone(
        dt.timezone.utc).isoformat(timespec="microseconds")


def _job_of(found: backup_policy.Policy, catalogue: Catalogue, asset: str) -> str:
    jobs = sorted({r["job"] for r in catalogue.listing(asset)})
    if len(jobs) != 1:
        raise InputError(f"--job: {asset} was backed up by " + (f"jobs {', '.join(jobs)}: name one" if jobs
                                                                 else "no job yet"))
    return jobs[0]


def _restore_database(ctx, found, catalogue, job, asset, to, at, dry_run, library, file_options, as_json) -> None:
    if at is None:
        raise InputError("--at: a database is restored to a moment: give it (ISO 8601)")
    if file_options:
        raise InputError("--path and --run are for files: a database is restored whole, to the time --at says")
    host, _, directory = to.partition(":")
    estate = load_estate(ctx)
    planned = database.plan(found, catalogue, estate, job, asset, at)
    if dry_run:
        data = {**planned.to_dict(library), "to": to, "dry_run": True}
    else:
        with runlayer.exclusive("backup", f"backup restore --asset {asset} --at {at}"):
            data = database.restore(found, catalogue, estate, planned, host, directory or None, library,
                                    common.resolver(ctx))
    if common.want_json(ctx, as_json):
        common.print_json(data)
        return
    plan = data if dry_run else data["plan"]
    common.stdout.print(f"{asset} at {plan['at']}: full {plan['full']}, logs {plan['logs']['from']} to "
                        f"{plan['logs']['to']}", markup=False, highlight=False)
    for step in plan["steps"]:
        volumes = ", ".join(f"{p['volume']} file {p['file']} ({p['where']})" for p in step["parts"])
        common.stdout.print(f"  {step['kind']:<5} {step['finished']}  {step['run']}: {volumes}", markup=False,
                            highlight=False)
    if not dry_run:
        common.progress(ctx, f"restored {asset} to {plan['at']} on {data['host']}: {data['data_directory']} "
                             f"(socket {data['socket']}, port {data['port']}), open read-write")


def _restore_in_place(ctx, found, catalogue, job, asset, at, preview: bool, library, as_json) -> None:
    if at is None:
        raise InputError("--at: a database is restored to a moment: give it (ISO 8601)")
    estate = load_estate(ctx)
    planned = database.plan(found, catalogue, estate, job, asset, at)
    with runlayer.exclusive("backup", f"backup restore --in-place --asset {asset} --at {at}"):
        data = database.restore_in_place(found, catalogue, estate, planned, not preview, library,
                                         common.resolver(ctx))
    if common.want_json(ctx, as_json):
        common.print_json(data)
        return
    plan = data["plan"]
    common.stdout.print(f"{asset} at {plan['at']} over its own server on {data['host']}: full {plan['full']}, "
                        f"logs {plan['logs']['from']} to {plan['logs']['to']}", markup=False, highlight=False)
    if preview:
        common.stdout.print(f"preview only: {data['data_directory']} would be moved to {data['kept']} and the "
                            "restore started there (the server is stopped); add --apply", markup=False,
                            highlight=False)
        return
    common.progress(ctx, f"restored {asset} to {plan['at']} in place: {data['host']} {data['data_directory']} "
                         f"(port {data['port']}), open read-write; its data before is kept at {data['kept']} "
                         "(remove it once the restore is accepted); a DR standby of it must be built again "
                         "(`mzops dr protect`)")


@app.command("drill")
def drill_cmd(
    ctx: typer.Context,
    asset: Optional[List[str]] = typer.Option(None, "--asset", help="Drill this asset (repeatable)."),
    count: int = typer.Option(1, "--random", min=1, help="Without --asset: this many assets, at random."),
    to: Optional[str] = typer.Option(None, "--to", help="Databases: the host the copy is restored on "
                                     "(default: the job's drill_host)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="The random choice's seed (to repeat a drill)."),
    as_json: bool = common.JsonOption,
) -> None:
    """Restore drills: each asset's backup at a random point within retention restored
    where it harms nothing (files: a scratch folder here; a database: a scratch copy on
    the drill host), checked (files: SHA-256 against the catalogue; databases: the
    engine's own checks, rows and checksums per table against those recorded at backup
    time), removed, and recorded with its timings. Exit 0 when every drill passed, 1 when one failed."""
    import random

    from mzops.backup import drill as drilling
    estate = load_estate(ctx)
    found = _policy(ctx, estate)
    catalogue = Catalogue()
    rng = random.Random(seed)
    chosen = drilling.choose(drilling.candidates(found, estate, catalogue), list(asset or []), count, rng)
    if to is not None and (to not in estate.assets or estate.assets[to].kind != "host"):
        raise InputError(f"--to {to}: not a host of {estate.source}")
    common.note_targets([a for _, a in chosen])
    with runlayer.exclusive("backup", f"backup drill {' '.join(a for _, a in chosen)}"):
        results = [drilling.drill(found, catalogue, estate, job, name, rng, to, common.resolver(ctx))
                   for job, name in chosen]
    if common.want_json(ctx, as_json):
        common.print_json({"drills": [r.to_dict() for r in results]})
    else:
        for r in results:
            common.stdout.print(f"{r.asset:<20} {'passed' if r.passed else 'FAILED':<7} {r.seconds:7.1f} s "
                                f"(first byte {r.first_byte_seconds:.1f} s)  {r.point}: "
                                f"{r.checked or 'nothing checked'}", markup=False, highlight=False)
            for line in r.problems[:20]:
                common.stdout.print(f"    {line}", markup=False, highlight=False)
        if not results:
            common.progress(ctx, "nothing to drill: no catalogued backup")
    if any(not r.passed for r in results):
        raise typer.Exit(1)


@app.command("verify")
def verify_cmd(
    ctx: typer.Context,
    job: str = typer.Option(..., "--job"),
    asset: str = typer.Option(..., "--asset"),
    as_json: bool = common.JsonOption,
) -> None:
    """Read the asset's chain back from tape: every part's and every file's SHA-256."""
    found = _policy(ctx)
    with runlayer.exclusive("backup", f"backup verify --job {job} --asset {asset}"):
        problems = restoring.verify(found, Catalogue(), job, asset, resolver=common.resolver(ctx))
    if common.want_json(ctx, as_json):
        common.print_json({"job": job, "asset": asset, "problems": problems})
    else:
        for line in problems:
            common.stderr.print(line, markup=False, highlight=False)
        if not problems:
            common.progress(ctx, f"ok: {job} on {asset}: every checksum matches")
    if problems:
        raise typer.Exit(1)


def _library(found: backup_policy.Policy, library: str):
    if library not in found.libraries:
        raise InputError(f"--library: no library {library!r} in {found.folder}/libraries.yml")
    return open_library(library, found.libraries[library])


tapes = typer.Typer(help="The libraries' cartridges: list, load, unload, label, export, import.",
                    no_args_is_help=True)
app.add_typer(tapes, name="tapes")


@tapes.command("list")
def tapes_list(ctx: typer.Context, library: str = typer.Option(..., "--library"),
               as_json: bool = common.JsonOption) -> None:
    """What is in each drive and slot of a library, with the catalogue's pool and state."""
    found = _policy(ctx)
    changer, _ = _library(found, library)
    status = changer.status()
    known = {v.barcode: v for v in Catalogue().volumes()}
    rows = [{"element": f"{e.kind} {e.number}", "barcode": e.barcode,
             "pool": known[e.barcode].pool if e.barcode in known else None,
             "state": known[e.barcode].state if e.barcode in known else ("blank or foreign" if e.full else None)}
            for e in status.drives + status.slots]
    if common.want_json(ctx, as_json):
        common.print_json(rows)
        return
    for r in rows:
        common.stdout.print(f"{r['element']:<8} {r['barcode'] or '-':<10} {r['pool'] or '':<10} {r['state'] or ''}",
                            markup=False, highlight=False)


@tapes.command("load")
def tapes_load(ctx: typer.Context, library: str = typer.Option(..., "--library"),
               barcode: str = typer.Argument(..., help="The cartridge's barcode."),
               drive: int = typer.Option(0, "--drive", help="Drive number (0 is the first).")) -> None:
    """Load a cartridge into a drive (the drive must be empty)."""
    changer, _ = _library(_policy(ctx), library)
    with runlayer.exclusive("backup", f"backup tapes load {barcode}"):
        status = changer.status()
        where = status.where(barcode)
        if where is None or where.kind == "drive":
            raise InputError(f"{barcode}: not in a slot of {library}" + (f" (it is in drive {where.number})"
                                                                        if where else ""))
        if not 0 <= drive < len(status.drives):
            raise InputError(f"--drive: {library} has drives 0 to {len(status.drives) - 1}")
        if status.drives[drive].full:
            raise InputError(f"drive {drive} of {library} holds {status.drives[drive].barcode}: unload it first")
        changer.load(where.number, drive)
    common.note_targets([barcode])
    common.progress(ctx, f"loaded {barcode} into drive {drive} of {library}")


@tapes.command("unload")
def tapes_unload(ctx: typer.Context, library: str = typer.Option(..., "--library"),
                 drive: int = typer.Option(0, "--drive", help="Drive number (0 is the first).")) -> None:
    """Unload a drive's cartridge back to the slot it came from (or the first free one)."""
    changer, drive_of = _library(_policy(ctx), library)
    with runlayer.exclusive("backup", f"backup tapes unload --drive {drive}"):
        status = changer.status()
        if not 0 <= drive < len(status.drives):
            raise InputError(f"--drive: {library} has drives 0 to {len(status.drives) - 1}")
        loaded = status.drives[drive]
        if not loaded.full:
            raise InputError(f"drive {drive} of {library} is empty")
        free = status.free_slots()
        slot = loaded.source or (free[0].number if free else None)
        if slot is None:
            raise InputError(f"{library}: no empty slot to unload into")
        drive_of(drive).close()
        changer.unload(slot, drive)
    common.note_targets([loaded.barcode or f"drive {drive}"])
    common.progress(ctx, f"unloaded {loaded.barcode or 'the cartridge'} from drive {drive} into slot {slot}")


@tapes.command("label")
def tapes_label(ctx: typer.Context, pool: str = typer.Option(..., "--pool"),
                barcode: str = typer.Argument(..., help="The cartridge's barcode."),
                force: bool = typer.Option(False, "--force", help="Relabel a labelled tape (erases it).")) -> None:
    """Label a cartridge of the pool's library for the pool."""
    found = _policy(ctx)
    if pool not in found.pools:
        raise InputError(f"--pool: no pool {pool!r} in {found.folder}/pools.yml")
    mounter = Mounter(found, pool, Catalogue())
    with runlayer.exclusive("backup", f"backup tapes label {barcode}"):
        mounter.label(barcode, force)
    common.note_targets([barcode])
    common.progress(ctx, f"labelled {barcode} for pool {pool}")


catalog = typer.Typer(help="The catalogue: upgrade its schema, rebuild it from the tapes.", no_args_is_help=True)
app.add_typer(catalog, name="catalog")


@catalog.command("upgrade")
def catalog_upgrade(ctx: typer.Context) -> None:
    """Migrate the catalogue's schema to this mzops's (a SQLite catalogue is copied first)."""
    from mzops.backup import catalogue as cat
    with runlayer.exclusive("backup", "backup catalog upgrade"):
        before, after, kept = cat.Catalogue(upgrading=True).upgrade()
    if before == after:
        common.progress(ctx, f"the catalogue is at schema revision {after}: nothing to do")
    else:
        common.progress(ctx, f"upgraded the catalogue from schema revision {before} to {after}"
                        + (f"; the old one is kept as {kept}" if kept else ""))


@catalog.command("rebuild")
def catalog_rebuild(ctx: typer.Context, library: str = typer.Option(..., "--library"),
                    as_json: bool = common.JsonOption) -> None:
    """Rebuild a lost catalogue from the labels and manifests on every cartridge of a
    library (into an empty catalogue: move a damaged one away first)."""
    from mzops.backup import catalogue as cat
    found = _policy(ctx)
    changer, drive_of = _library(found, library)
    with runlayer.exclusive("backup", f"backup catalog rebuild --library {library}"):
        labels, manifests, skipped = offsite.read_library(changer, drive_of)
        try:
            counts = cat.rebuild(Catalogue(), manifests, labels, library)
        except ValueError as exc:
            raise InputError(str(exc)) from None
    data = {**counts, "skipped": skipped}
    if common.want_json(ctx, as_json):
        common.print_json(data)
    else:
        for line in skipped:
            common.stderr.print(line, markup=False, highlight=False)
        common.progress(ctx, f"rebuilt: {counts['volumes']} volumes, {counts['runs']} runs, {counts['files']} files")


schedule_app = typer.Typer(help="The nightly run: systemd timer or cron.", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")


@schedule_app.command("install")
def schedule_install(
    ctx: typer.Context,
    jobs: Optional[List[str]] = typer.Argument(None, help="Jobs the nightly run runs (default: every job)."),
    at: str = typer.Option("01:30", "--at", help="Time of day, HH:MM."),
    user: str = typer.Option("root", "--user", help="The account the run runs as (the scheduler role)."),
    cron: bool = typer.Option(False, "--cron", help="A line in /etc/cron.d instead of systemd units."),
    folder: Optional[Path] = typer.Option(None, "--folder", help="Where to write (default /etc/systemd/system, "
                                          "or /etc/cron.d with --cron)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be written."),
    drills: Optional[str] = typer.Option(None, "--drills", help="Also restore drills: weekly or monthly."),
    drill_count: int = typer.Option(1, "--drill-count", min=1, help="Assets each drill restores, at random."),
    drill_at: str = typer.Option("05:00", "--drill-at", help="Time of day of the drills, HH:MM."),
) -> None:
    """Install the nightly backup run (and, with --drills, the restore drills): systemd
    services and timers checked with systemd-analyze verify before they are written, or
    cron lines."""
    from mzops import paths
    from mzops.backup import schedule
    found = _policy(ctx)
    for name in jobs or []:
        if name not in found.jobs:
            raise InputError(f"job {name!r}: not in {found.folder}/jobs.yml")
    if drills is not None and drills not in schedule.DRILLS:
        raise InputError(f"--drills: one of {', '.join(schedule.DRILLS)} (got {drills!r})")
    inventory, home = common.options(ctx).inventory, paths.mzops_home()
    if cron:
        files = {"mzops-backup": schedule.cron_line(inventory, home, at, user, list(jobs or []), drills, drill_count,
                                                    drill_at)}
        target = folder or Path("/etc/cron.d")
    else:
        files = schedule.units(inventory, home, at, user, list(jobs or []), drills, drill_count, drill_at)
        schedule.verify(files)
        target = folder or Path("/etc/systemd/system")
    if dry_run:
        for name, text in files.items():
            common.stdout.print(f"# {target / name}\n{text}", markup=False, highlight=False)
        return
    written = schedule.install(target, files)
    common.note_targets([str(p) for p in written])
    common.progress(ctx, "written: " + ", ".join(str(p) for p in written)
                    + ("" if cron else "; enable with: systemctl daemon-reload && systemctl enable --now "
                       + " ".join(n for n in files if n.endswith(".timer"))))


@app.command("prune")
def prune_cmd(
    ctx: typer.Context,
    apply_changes: bool = typer.Option(False, "--apply", help="Forget the expired runs and recycle the volumes "
                                       "(default: preview only)."),
    as_json: bool = common.JsonOption,
) -> None:
    """Apply each job's retention: the runs no restore point in its window needs, and the
    volumes that then hold no kept run (recycled: relabelled when next written)."""
    from mzops.backup import retention
    found = _policy(ctx)
    catalogue = Catalogue()
    plan = retention.plan(found, catalogue, dt.datetime.now(dt.timezone.utc))
    if apply_changes and (plan["expired_runs"] or plan["recycled_volumes"]):
        with runlayer.exclusive("backup", "backup prune --apply"):
            retention.apply(catalogue, plan)
    data = {"apply": apply_changes, **plan}
    expired, recycle = plan["expired_runs"], plan["recycled_volumes"]
    if common.want_json(ctx, as_json):
        common.print_json(data)
        return
    verb = "forgotten" if apply_changes else "would be forgotten"
    common.stdout.print(f"{len(expired)} runs {verb}, {plan['kept_runs']} kept; volumes "
                        f"{'recycled' if apply_changes else 'to recycle'}: {', '.join(recycle) or 'none'}",
                        markup=False, highlight=False)


@tapes.command("export")
def tapes_export(ctx: typer.Context, library: str = typer.Option(..., "--library"),
                 barcodes: List[str] = typer.Argument(..., help="Cartridges to send off site."),
                 vault: str = typer.Option("DR site vault", "--vault", help="Where they are going.")) -> None:
    """Move cartridges to the library's import/export slots for the off-site copy; the
    catalogue records them as in transit to VAULT once taken out."""
    found = _policy(ctx)
    changer, drive_of = _library(found, library)
    with runlayer.exclusive("backup", f"backup tapes export {' '.join(barcodes)}"):
        offsite.export(changer, drive_of, library, barcodes, vault, Catalogue())
    common.note_targets(barcodes)
    common.progress(ctx, f"exported {', '.join(barcodes)} for {vault}")


@tapes.command("import")
def tapes_import(ctx: typer.Context, library: str = typer.Option(..., "--library"),
                 cartridges: Optional[List[Path]] = typer.Argument(None, help="File library only: cartridge "
                                                                    "folders an operator brings in.")) -> None:
    """Take cartridges from the import/export slots into free storage slots, checking
    each one's label, and record where they now are."""
    found = _policy(ctx)
    changer, drive_of = _library(found, library)
    with runlayer.exclusive("backup", f"backup tapes import --library {library}"):
        moved = offsite.import_(changer, drive_of, library, Catalogue(), list(cartridges or []))
    common.note_targets(moved)
    common.progress(ctx, f"imported {', '.join(moved) or 'nothing'} into {library}")


@app.command("report")
def report_cmd(
    ctx: typer.Context,
    fmt: str = typer.Option("table", "-f", "--format", help="table, json or html"),
    output: Optional[Path] = common.OutputOption,
    max_age_hours: float = typer.Option(26.0, "--max-age-hours", help="A last backup older than this is stale."),
) -> None:
    """For auditors and the morning after: per job and asset the last good backup, its
    chain, where each volume is and the last read-back; exit 1 when one is not ok."""
    from mzops.backup import report
    if fmt not in ("table", "json", "html"):
        raise InputError(f"--format: table, json or html (got {fmt!r})")
    estate = load_estate(ctx)
    found = report.rows(_policy(ctx, estate), estate, Catalogue(), max_age_hours)
    generated = volume.now()
    if fmt == "json":
        import json
        text = json.dumps({"generated_at": generated, "healthy": report.healthy(found), "assets": found},
                          ensure_ascii=False, indent=2) + "\n"
    elif fmt == "html":
        text = report.html(found, generated)
    else:
        text = "".join(f"{r['job']:<14} {r['asset']:<16} {r['last'] or '-':<26} {r['status']}\n" for r in found)
    common.emit_report(ctx, text, fmt, output, None, 0 if report.healthy(found) else 1)
