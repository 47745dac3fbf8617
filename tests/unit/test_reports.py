"""Reports and waivers, over evaluations of recorded bundles (no lab needed)."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest

from bundles import WAIVERS, debian12, evaluated_run, write_waivers
from mzops import report
from mzops.compliance import audit, catalogue, waivers
from mzops.errors import InputError

CATALOGUE = catalogue.load("mlps3")


def test_waiver_applies_and_expired_waiver_does_not(tmp_path):
    folder = tmp_path / "facts"
    folder.mkdir()
    bundle = debian12()
    bundle.target = "lab-a"
    bundle.save(folder)
    in_force, expired = waivers.split(waivers.load(write_waivers(tmp_path, WAIVERS), set(CATALOGUE.rules)),
                                      dt.date(2026, 11, 28))
    request = audit.AuditRequest.single(CATALOGUE, list(CATALOGUE.baseline.rules), in_force, expired)
    from mzops.compliance import evaluate
    _, results = evaluate.evaluate(bundle, request.suites["linux"].rules, CATALOGUE.baseline.parameters, in_force, ["zone_core"])
    by_rule = {r.rule: r for r in results}
    assert by_rule["linux.auth.mfa"].status == "waived"
    assert by_rule["linux.auth.mfa"].waiver["approver"] == "李娜 (security admin)"
    assert by_rule["linux.ssh.x11"].status == "fail", "an expired waiver no longer applies"
    assert [w.rule for w in expired] == ["linux.ssh.x11"]


@pytest.mark.parametrize("text, message", [
    ("waivers:\n  - rule: linux.nope\n    targets: x\n    justification: long enough reason\n    approver: a\n    expires: 2030-01-01\n",
     ":2: waivers.0.rule: no rule matches 'linux.nope'"),
    ("waivers:\n  - rule: linux.ssh.x11\n    targets: x\n    justification: long enough reason\n    expires: 2030-01-01\n",
     ":2: waivers.0.approver: Field required"),
    ("waivers:\n  - rule: linux.ssh.x11\n    targets: x\n    justification: long enough reason\n    approver: a\n    expires: someday\n",
     ":6: waivers.0.expires: Input should be a valid date"),
    ("waivers:\n  - rule: linux.ssh.x11\n    target: x\n", ":3: waivers.0.target: unknown key"),
    ("- just a list\n", ":1: expected a mapping"),
])
def test_bad_waiver_file(tmp_path, text, message):
    with pytest.raises(InputError) as err:
        waivers.load(write_waivers(tmp_path, text), set(CATALOGUE.rules))
    assert message in str(err.value) and str(err.value).startswith(str(tmp_path / "waivers.yml"))


def test_json_report(tmp_path):
    run = evaluated_run(tmp_path)
    data = json.loads(report.render(run, "json"))
    assert data["profile"] == "mlps3" and data["generated_at"]
    assert data["summary"]["unassessed"] == ["county-07"]
    assert data["expired_waivers"][0]["rule"] == "linux.ssh.x11"
    first = data["targets"][0]
    assert first["score"] is not None and first["counts"]["fail"] > 0
    assert run.exit_code() == 1     # findings win over a target not assessed (the run layer's rule)


def test_junit_report(tmp_path):
    run = evaluated_run(tmp_path)
    root = ET.fromstring(report.render(run, "junit"))
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"lab-a", "lab-b", "county-07"}
    lab = suites["lab-a"]
    assert int(lab.get("tests")) == len(CATALOGUE.rules)
    assert int(lab.get("failures")) == len(lab.findall("testcase/failure"))
    failure = lab.find("testcase[@name='linux.pw.max_days']/failure")
    assert failure is not None and "PASS_MAX_DAYS 99999" in failure.text
    assert suites["lab-b"].find("testcase[@name='linux.pw.max_days']/failure") is None
    assert suites["county-07"].find("testcase/error").get("message").startswith("unreachable")


def test_clause_rollup_verdicts(tmp_path):
    rows = {row["clause"]: row for row in report.clause_rollup(evaluated_run(tmp_path))}
    assert rows["8.1.4.1 a)"]["verdict"] == "partially compliant"   # some pass, some fail
    assert rows["8.1.4.7"]["verdict"] == "non-compliant"            # AIDE missing on both
    assert rows["8.1.4.1 a)"]["eval_ids"] == ["L3-CES1-01"]
    clauses = [row["clause"] for row in report.clause_rollup(evaluated_run(tmp_path / "x"))]
    assert clauses == sorted(clauses, key=lambda c: [int(n) for n in c.split()[0].split(".")])


def test_html_report_is_self_contained(tmp_path):
    html = report.render(evaluated_run(tmp_path), "html")
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert "<link" not in html and "src=" not in html


def test_cli_evaluate_saved_bundles_and_bad_waiver_file(tmp_path):
    from conftest import REPO, run_mzops

    bundles = REPO / "tests" / "fixtures" / "bundles"
    proc = run_mzops("-i", str(tmp_path / "no-inventory"), "audit", "evaluate", str(bundles), "--json",
                     home=tmp_path / "home")
    assert proc.returncode == 1, proc.stderr  # the pristine Debian host has findings
    data = json.loads(proc.stdout)
    assert data["targets"][0]["name"] == "debian12-lab" and data["targets"][0]["counts"]["fail"] > 0
    bad = write_waivers(tmp_path, "waivers:\n  - rule: linux.ssh.x11\n    targets: '*'\n    approver: x\n"
                                  "    justification: long enough reason\n    expires: 2030-02-31\n")
    proc = run_mzops("-i", str(tmp_path / "no-inventory"), "audit", "evaluate", str(bundles), "--waivers", str(bad),
                     home=tmp_path / "home")
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mzops: error: {bad}:6: waivers.0.expires: ")


def test_html_groups_each_database_under_its_host():
    from mzops.report import html
    from mzops.results import Run, TargetResult

    run = Run("mlps3", [TargetResult("db9-pg", "assessed", "database", platform="postgresql", server="db9"),
                        TargetResult("app1", "assessed", "host"), TargetResult("db9", "assessed", "host"),
                        TargetResult("aaa-mariadb", "error", "database", server="db9", message="did not answer")])
    assert [t.name for t in html.by_asset(run.targets)] == ["app1", "db9", "aaa-mariadb", "db9-pg"]
    page = html.render(run)
    assert page.index(">db9<") < page.index("db9-pg (postgresql @ db9)") and "数据库 / database" in page


@pytest.mark.parametrize("counts, said", [
    ({"pass": 3}, "compliant"),
    ({"pass": 2, "waived": 1}, "compliant"),            # a waiver beside real passes: compensated
    ({"waived": 2}, "waived"),                          # only waivers: no evidence of compliance
    ({"manual": 1}, "to be checked by hand"),
    ({"manual": 1, "waived": 1}, "to be checked by hand"),
    ({"pass": 1, "manual": 1}, "partially compliant"),
    ({"pass": 1, "fail": 1}, "partially compliant"),
    ({"error": 1}, "non-compliant"),                    # could not be evaluated is no pass
    ({"notapplicable": 4}, "not applicable"),
])
def test_a_clause_is_compliant_only_on_evidence(counts, said):
    from mzops.results import verdict

    assert verdict(counts) == said


def test_html_gives_a_verdict_per_asset_and_clause_the_collection_time_and_a_sign_off(tmp_path):
    run = evaluated_run(tmp_path)
    html = report.render(run, "html")
    assert "Verdict per asset and clause" in html and "Sign-off" in html and "Evidence of passing results" in html
    assessed = next(t for t in run.targets if t.status == "assessed")
    assert assessed.collected_at and assessed.collected_at in html
    data = json.loads(report.render(run, "json"))
    verdicts = next(t for t in data["targets"] if t["name"] == assessed.name)["verdicts"]
    assert verdicts["8.1.4.7"] == "non-compliant" and set(verdicts.values()) <= set(report.VERDICTS)


def test_the_report_names_the_system_and_its_level_from_the_inventory(tmp_path, sample_inventory):
    """The system under evaluation (定级对象), its level and filing number come from the
    inventory's mzops_system; a report without them says so instead of staying silent."""
    from conftest import REPO, run_mzops

    bundles = REPO / "tests" / "fixtures" / "bundles"
    html = tmp_path / "r.html"
    proc = run_mzops("-i", str(sample_inventory), "audit", "evaluate", str(bundles), "-f", "html", "-o", str(html),
                     home=tmp_path / "home")
    assert proc.returncode == 1, proc.stderr
    text = html.read_text()
    assert "部机关办公与数据交换系统" in text and "第三级 / level 3" in text and "11010099999-00001" in text
    proc = run_mzops("-i", str(sample_inventory), "audit", "evaluate", str(bundles), "--json", home=tmp_path / "home")
    assert json.loads(proc.stdout)["system"]["level"] == 3
    proc = run_mzops("-i", str(tmp_path / "none"), "audit", "evaluate", str(bundles), "-f", "html", "-o", str(html),
                     home=tmp_path / "home")
    assert "The system under evaluation is not declared" in html.read_text()
    estate = sample_inventory / "group_vars" / "all" / "estate.yml"
    estate.write_text(estate.read_text().replace("level: 3", "level: three"))
    proc = run_mzops("-i", str(sample_inventory), "audit", "evaluate", str(bundles), home=tmp_path / "home")
    assert proc.returncode == 2 and proc.stderr.strip().endswith(
        "mzops_system.level: expected a protection level 1 to 5, got 'three'")
    assert len(proc.stderr.strip().splitlines()) == 1
