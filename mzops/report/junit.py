"""JUnit XML: one testsuite per target, one testcase per rule (for CI dashboards)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from mzops.results import Run


def render(run: Run) -> str:
    suites = ET.Element("testsuites", name=f"mzops audit {run.profile}")
    for target in run.targets:
        suite = ET.SubElement(suites, "testsuite", name=target.name, timestamp=run.generated_at,
                              time=f"{target.seconds:.3f}")
        c = target.counts()
        if target.status != "assessed":
            case = ET.SubElement(suite, "testcase", classname=target.name, name="reachability")
            ET.SubElement(case, "error", message=f"{target.status}: {target.message}")
            suite.set("tests", "1")
            suite.set("errors", "1")
            suite.set("failures", "0")
            suite.set("skipped", "0")
            continue
        suite.set("tests", str(len(target.results)))
        suite.set("failures", str(c["fail"]))
        suite.set("errors", str(c["error"]))
        suite.set("skipped", str(c["manual"] + c["waived"] + c["notapplicable"]))
        for r in target.results:
            case = ET.SubElement(suite, "testcase", classname=f"{target.name}.{r.clause}", name=r.rule)
            detail = "\n".join([f"expected: {r.expected}", f"actual: {r.actual}", *r.evidence])
            if r.status == "fail":
                ET.SubElement(case, "failure", message=r.actual, type=r.severity).text = detail
            elif r.status == "error":
                ET.SubElement(case, "error", message=r.actual).text = detail
            elif r.status in ("manual", "waived", "notapplicable"):
                ET.SubElement(case, "skipped", message=f"{r.status}: {r.actual}")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
