"""Retention as operators say it: a restore to any day of the window stays possible
(chains kept whole, and the state at the window's start), monthly fulls kept for years,
and a volume is recycled only when no kept run has a part on it."""

from __future__ import annotations

import datetime as dt

from mzops.backup.policy import JobSpec
from mzops.backup.retention import RunFacts, kept, recyclable

NOW = dt.datetime(2026, 12, 1, 3, tzinfo=dt.timezone.utc)


def job(days: int, years: int = 0) -> JobSpec:
    return JobSpec.model_validate({"assets": ["h"], "paths": ["/"], "pool": "p",
                                   "retention": {"restorable_days": days, "monthly_fulls_years": years}})


def weekly_fulls(weeks: int) -> list[RunFacts]:
    """A full every Sunday, incrementals on the other days, one volume per week."""
    runs, parent = [], None
    for day in range(weeks * 7):
        when = NOW - dt.timedelta(days=weeks * 7 - day)
        level = 0 if day % 7 == 0 else day % 7
        key = f"d{day}"
        runs.append(RunFacts(key, "h", level, None if level == 0 else parent, when, frozenset({f"W{day // 7}"})))
        parent = key
    return runs


def test_the_window_keeps_whole_chains_and_the_state_at_its_start():
    runs = weekly_fulls(8)
    keep = kept(runs, job(10), NOW)
    window = {r.id for r in runs if r.finished >= NOW - dt.timedelta(days=10)}
    assert window <= keep
    # the oldest run in the window is an incremental: its full and levels are kept too
    first = min((r for r in runs if r.id in window), key=lambda r: r.finished)
    assert first.level != 0
    by_id = {r.id: r for r in runs}
    node = first
    while node.parent:
        node = by_id[node.parent]
        assert node.id in keep
    # nothing older than the chain of the last run before the window is kept
    assert "d0" not in keep and "d20" not in keep
    volumes = {f"W{n}": "full" for n in range(8)}
    assert recyclable(volumes, runs, keep) == ["W0", "W1", "W2", "W3", "W4", "W5"]


def test_monthly_fulls_are_kept_for_years():
    runs = weekly_fulls(10)
    keep = kept(runs, job(7, years=3), NOW)
    fulls = sorted((r for r in runs if r.level == 0), key=lambda r: r.finished)
    months = {}
    for r in fulls:
        months.setdefault((r.finished.year, r.finished.month), r.id)
    assert set(months.values()) <= keep
    later_in_month = [r.id for r in fulls if r.id not in months.values()
                      and r.finished < NOW - dt.timedelta(days=21)]
    assert later_in_month and not set(later_in_month) & keep


def test_a_volume_shared_with_a_kept_run_is_not_recycled():
    runs = [RunFacts("c", "h", 0, None, NOW - dt.timedelta(days=200), frozenset({"V1", "V3"})),
            RunFacts("a", "h", 0, None, NOW - dt.timedelta(days=90), frozenset({"V1"})),
            RunFacts("b", "h", 0, None, NOW - dt.timedelta(days=1), frozenset({"V2"}))]
    keep = kept(runs, job(7), NOW)
    assert keep == {"a", "b"}           # a: the state at the window's start (restoring to 6 days ago)
    volumes = {"V1": "full", "V2": "append", "V3": "full", "V4": "recycled"}
    assert recyclable(volumes, runs, keep) == ["V3"]        # V1 still holds a


def test_prune_previews_then_forgets_and_recycles(tmp_path, sample_inventory):
    import json
    import shutil

    from conftest import REPO, run_mzops
    from mzops.backup.catalogue import Catalogue, Part, Run, Volume

    shutil.copytree(REPO / "backup", tmp_path / "backup")
    jobs = tmp_path / "backup" / "jobs.yml"
    jobs.write_text(jobs.read_text().replace("monthly_fulls_years: 3", "monthly_fulls_years: 0"))
    home = tmp_path / "home"
    (home / "backup").mkdir(parents=True)
    c = Catalogue(f"sqlite:///{home}/backup/catalogue.sqlite")
    now = dt.datetime.now(dt.timezone.utc)
    with c.session() as session, session.begin():
        for n, days in ((1, 100), (2, 50), (3, 2)):
            when = (now - dt.timedelta(days=days)).isoformat(timespec="seconds")
            session.add(Volume(barcode=f"V{n}", pool="daily", library="primary-library", labelled_at=when,
                               state="full"))
            session.add(Run(id=f"r{n}", run_id=f"r{n}", job="smc-system", asset="smc-log-01", level=0, parent=None,
                            started=when, finished=when, bytes=1, sha256="0", snapshot_gz=b"",
                            parts=[Part(number=1, volume=f"V{n}", tape_file=1, bytes=1, sha256="0")]))
    c.engine.dispose()
    preview = run_mzops("-i", str(sample_inventory), "backup", "prune", "--json", home=home)
    assert preview.returncode == 0, preview.stderr
    data = json.loads(preview.stdout)
    assert data["expired_runs"] == ["r1"] and data["recycled_volumes"] == ["V1"] and not data["apply"]
    assert {r["id"] for r in json.loads(run_mzops("-i", str(sample_inventory), "backup", "list", "--json",
                                                  home=home).stdout)} == {"r1", "r2", "r3"}
    done = run_mzops("-i", str(sample_inventory), "backup", "prune", "--apply", "--json", home=home)
    assert done.returncode == 0 and json.loads(done.stdout)["expired_runs"] == ["r1"]
    assert {r["id"] for r in json.loads(run_mzops("-i", str(sample_inventory), "backup", "list", "--json",
                                                  home=home).stdout)} == {"r2", "r3"}
    assert {v.barcode: v.state for v in Catalogue(f"sqlite:///{home}/backup/catalogue.sqlite").volumes()}["V1"] \
        == "recycled"
