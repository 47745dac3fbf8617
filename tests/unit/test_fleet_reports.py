"""Reports at the size of an estate: the folder report, JSON Lines, merge and history."""

from __future__ import annotations

import json
import zipfile

import pytest

from bundles import evaluated_run, fleet_run
from conftest import REPO, run_mzops
from mzops import report
from mzops.compliance import history, merge
from mzops.errors import InputError
from mzops.report import site

BUNDLES = REPO / "tests" / "fixtures" / "bundles"


def test_folder_report_has_a_summary_and_a_linked_page_per_asset(tmp_path):
    run = fleet_run(tmp_path, 120)
    out = tmp_path / "report"
    site.write(run, out, [])
    index = (out / "index.html").read_text()
    pages = sorted(p.name for p in (out / "assets").iterdir())
    assert len(pages) == 120
    # every asset is linked from the summary, and each page links back
    for t in run.targets:
        assert f'href="{site.asset_file(t.name)}"' in index
    page = (out / site.asset_file("host-0003")).read_text()
    assert 'href="../index.html"' in page and "changed on this host" in page   # its own finding, with evidence
    assert "changed on this host" not in index                                  # evidence lives on the asset's page
    assert "<svg" in index and "clause × zone" in index and "<script" not in index and "http://" not in index.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    assert "ssh: connect to host 10.0.39.9 port 22: timed out" in index        # not assessed, with ssh's reason
    assert "No earlier audit of this profile is on record" in index


def test_page_names_are_safe_and_never_shared():
    names = ["web01", "../etc/passwd", "数据库-1", "a/b", "a_b", ".hidden"]
    files = [site.asset_file(n) for n in names]
    assert files[0] == "assets/web01.html"
    assert len(set(files)) == len(files)
    assert all(f.startswith("assets/") and "/" not in f[7:] and not f[7:].startswith(".") for f in files)


def test_heat_map_cells_are_the_share_of_compliant_assets(tmp_path):
    run = fleet_run(tmp_path, 8)
    svg = site._heat_map([t for t in run.targets if t.status == "assessed"])
    # AIDE (8.1.4.7) passes in the core zone only; 8.1.4.1 d) is waived everywhere (no evidence)
    assert "8.1.4.7 · core: 2/2 符合 compliant" in svg and "8.1.4.7 · dmz: 0/2 符合 compliant" in svg
    assert "8.1.4.1 d) · core: 无自动证据" in svg
    core = [t for t in run.targets if t.zone == "core" and t.status == "assessed"]
    assert "· dmz:" not in site._heat_map(core)


def test_a_folder_that_is_not_a_report_is_never_replaced(tmp_path):
    run = fleet_run(tmp_path, 3)
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="not an mzops report folder"):
        site.write(run, precious, [])
    assert (precious / "notes.txt").read_text() == "keep me"
    out = tmp_path / "r"
    site.write(run, out, [])
    (out / "assets" / "stale.html").write_text("from an earlier run")
    site.write(run, out, [])           # an earlier report is replaced whole
    assert not (out / "assets" / "stale.html").exists() and len(list((out / "assets").iterdir())) == 3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temporary left


def test_zip_report_holds_the_same_pages(tmp_path):
    run = fleet_run(tmp_path, 5)
    site.write(run, tmp_path / "r.zip", [])
    with zipfile.ZipFile(tmp_path / "r.zip") as z:
        names = sorted(z.namelist())
    assert names[0] == "r/assets/host-0000.html" and "r/index.html" in names and len(names) == 6


def _entries(run):
    return [history.entry(t) for t in run.targets]


def test_changes_since_the_previous_audit_name_each_clause_that_got_worse(tmp_path):
    run = fleet_run(tmp_path, 14)
    before = {"run_id": "20261101T000000-aaaaaa", "generated_at": "2026-11-01T00:00:00+00:00",
              "assets": _entries(run)}
    worse = run.targets[0]
    worse.results = [type(r)(**{**r.to_dict(), "status": "fail"}) if r.clause.startswith("8.1.4.2") else r
                     for r in worse.results]
    run.targets.append(type(worse)("new-host", "unreachable", message="timed out"))
    gone = run.targets.pop(5)
    diff = history.changes(before, _entries(run))
    assert [c.name for c in diff.regressed] == [worse.name]
    assert diff.regressed[0].worse and all(w.startswith("8.1.4.2") for w in diff.regressed[0].worse)
    assert diff.new == ["new-host"] and diff.not_now == [gone.name] and diff.clauses_known
    # an older record without verdicts per clause: scores only, and the report says so
    old = {**before, "assets": [{k: v for k, v in a.items() if k != "verdicts"} for a in before["assets"]]}
    diff = history.changes(old, _entries(run))
    assert not diff.clauses_known and [c.name for c in diff.regressed] == [worse.name]
    text = "".join(site._changes(old, _entries(run)))
    assert "has no verdict per clause" in text and worse.name in text


def test_nothing_changed_is_no_regression(tmp_path):
    run = fleet_run(tmp_path, 10)
    diff = history.changes({"assets": _entries(run)}, _entries(run))
    assert not diff.regressed and not diff.improved and not diff.new and not diff.not_now


def test_jsonl_is_a_header_then_a_target_per_line_and_merges_back(tmp_path):
    run = evaluated_run(tmp_path)
    lines = report.render(run, "jsonl").splitlines()
    assert len(lines) == 1 + len(run.targets)
    assert json.loads(lines[0])["record"] == "run" and all(json.loads(x)["record"] == "target" for x in lines[1:])
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(lines) + "\n")
    again = merge.load(path)
    assert [t.to_dict() for t in again.targets] == [t.to_dict() for t in run.targets]
    json_path = tmp_path / "a.json"
    json_path.write_text(report.render(run, "json"))
    assert [t.to_dict() for t in merge.load(json_path).targets] == [t.to_dict() for t in run.targets]


def test_merge_keeps_the_newest_of_a_target_audited_twice_and_refuses_other_baselines(tmp_path):
    a, b = evaluated_run(tmp_path / "a"), evaluated_run(tmp_path / "b")
    b.targets[0].collected_at = "2099-01-01T00:00:00+00:00"
    b.targets[0].results = b.targets[0].results[:3]
    merged, notes = merge.merge([(tmp_path / "a.json", a), (tmp_path / "b.json", b)])
    assert len(merged.targets) == len(a.targets)
    assert next(t for t in merged.targets if t.name == a.targets[0].name).results == b.targets[0].results
    assert len(notes) == len(a.targets) and "kept the one from " + str(tmp_path / "b.json") in notes[0]
    # an unreachable result never replaces an assessed one
    unreachable = next(t for t in merged.targets if t.status == "unreachable")
    assert unreachable.name == "county-07"
    b.profile = "other"
    with pytest.raises(InputError, match=r"b\.json:1: profile: 'other', but .*a\.json is 'mlps3'"):
        merge.merge([(tmp_path / "a.json", a), (tmp_path / "b.json", b)])


@pytest.mark.parametrize("text, said", [
    ('{"record": "run", "profile": "mlps3", "generated_at": "x"}\n{"record": "target", "name": "h", "status": "gone"}\n',
     ":2: status: expected one of assessed, unreachable, error"),
    ('{"record": "run", "profile": "mlps3", "generated_at": "x"}\n{"record": "target", "name": "h", "status": '
     '"assessed", "results": [{"rule": 1}]}\n', ":2: results.0.rule: expected a string"),
    ('{"record": "target", "name": "h", "status": "assessed"}\n', ":1: record: a target before the run's header"),
    ('{"record": "run", "profile": "mlps3", "generated_at": "x"}\n{"record": \n', ":2: not a JSON line"),
    ('{"targets": [{"name": "h"}], "profile": "mlps3", "generated_at": "x"}', ":1: targets.0.status: expected one of"),
    ('[1, 2', ":1: not a JSON report"),
])
def test_a_damaged_report_is_an_input_error_naming_file_line_and_key(tmp_path, text, said):
    path = tmp_path / "r.jsonl"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        merge.load(path)
    assert str(caught.value).startswith(str(path)) and said in str(caught.value)


def test_cli_merge_records_the_run_and_history_shows_the_trend(tmp_path):
    home = tmp_path / "home"
    first = tmp_path / "north.jsonl"
    proc = run_mzops("-i", str(tmp_path / "none"), "audit", "evaluate", str(BUNDLES), "-f", "jsonl", "-o", str(first),
                     home=home)
    assert proc.returncode == 1, proc.stderr
    run = merge.load(first)
    run.targets[0].name = "south-1"
    second = tmp_path / "south.json"
    second.write_text(report.render(run, "json"))
    proc = run_mzops("-i", str(tmp_path / "none"), "audit", "merge", str(first), str(second), "--json", home=home)
    assert proc.returncode == 1, proc.stderr
    assert sorted(t["name"] for t in json.loads(proc.stdout)["targets"]) == ["debian12-lab", "south-1"]
    proc = run_mzops("-i", str(tmp_path / "none"), "audit", "history", "--json", home=home)
    rows = json.loads(proc.stdout)
    assert proc.returncode == 0 and len(rows) == 1 and rows[0]["assets"] == 2 and rows[0]["with_findings"] == 2
    proc = run_mzops("-i", str(tmp_path / "none"), "audit", "history", "--asset", "south-1", home=home)
    assert proc.returncode == 0 and "south-1" not in proc.stderr and "fail " in proc.stdout
    proc = run_mzops("-i", str(tmp_path / "none"), "audit", "history", "--asset", "nowhere", home=home)
    assert proc.returncode == 2 and "--asset nowhere: not in any recorded audit" in proc.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"record": "run", "profile": "mlps3"}\n')
    proc = run_mzops("-i", str(tmp_path / "none"), "audit", "merge", str(first), str(bad), home=home)
    assert proc.returncode == 2 and proc.stderr.strip() == f"mzops: error: {bad}:1: generated_at: expected a string"
    # the merge that failed recorded nothing
    assert len(json.loads(run_mzops("-i", str(tmp_path / "none"), "audit", "history", "--json", home=home).stdout)) == 1


def test_cli_html_to_a_folder(tmp_path):
    out = tmp_path / "report"
    proc = run_mzops("-i", str(tmp_path / "none"), "audit", "evaluate", str(BUNDLES), "-f", "html", "-o", str(out),
                     home=tmp_path / "home")
    assert proc.returncode == 1, proc.stderr
    assert (out / "index.html").is_file() and (out / "assets" / "debian12-lab.html").is_file()
    assert "asset pages" in proc.stderr


def test_json_written_a_target_at_a_time_is_the_same_document(tmp_path):
    from mzops.results import Run

    for run in (evaluated_run(tmp_path), Run("mlps3", [])):
        pieces = list(report.stream(run, "json"))
        assert "".join(pieces) == report.render(run, "json")
        assert len(pieces) == len(run.targets) + 2


def test_beside_a_written_report_an_estate_gets_a_screen_not_every_finding(tmp_path):
    from mzops.report import table

    small, large = fleet_run(tmp_path / "s", 12), fleet_run(tmp_path / "l", table.BRIEF_ABOVE + 1)
    assert "host-0003: findings" in table.summary(small)
    text = table.summary(large)
    assert "host-0003: findings" not in text and "per clause" in text and "lowest scores" in text
    assert f"{table.BRIEF_ABOVE + 1} targets, " in text and "not assessed: host-0039: unreachable" in text


def test_cli_refuses_a_folder_that_is_not_a_report_before_anything_runs(tmp_path):
    precious = tmp_path / "documents"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    proc = run_mzops("-i", str(tmp_path / "none"), "audit", "evaluate", str(BUNDLES), "-f", "html", "-o",
                     str(precious), home=tmp_path / "home")
    assert proc.returncode == 2 and "a folder that is not an mzops report" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert sorted(p.name for p in precious.iterdir()) == ["thesis.txt"]
