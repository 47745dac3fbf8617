# The mzops.mlps3.report callback: the audit's results as one JSON Lines report.
from __future__ import annotations

DOCUMENTATION = r"""
name: report
type: aggregate
short_description: Writes the mzops.mlps3.audit results as a JSON Lines report
description:
  - Keeps each host's result of the mzops.mlps3.audit task (and the hosts it could not
    reach) and, when the playbook ends, writes them as mzops's JSON Lines report
    (a header line, then one target per line), which C(mzops audit merge) joins with
    the reports of other jobs.
requirements:
  - enabled in callbacks_enabled (or ANSIBLE_CALLBACKS_ENABLED)
  - the mzops Python package beside Ansible
options:
  output:
    description: The report's path.
    default: mzops-audit.jsonl
    env:
      - name: MZOPS_REPORT
    ini:
      - section: callback_mzops_report
        key: output
"""

import os

from ansible.plugins.callback import CallbackBase

ACTIONS = ("mzops.mlps3.audit", "audit")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "mzops.mlps3.report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.targets = {}
        self.profile = "mlps3"

    def _ours(self, result) -> bool:
        if result._task.action not in ACTIONS:
            return False
        self.profile = str(result._task.args.get("profile") or self.profile)
        return True

    def v2_runner_on_ok(self, result):
        if self._ours(result) and "mzops_target" in result._result:
            self.targets[result._host.get_name()] = result._result["mzops_target"]

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not self._ours(result):
            return
        name = result._host.get_name()
        self.targets[name] = result._result.get("mzops_target") or {
            "name": name, "status": "error", "message": str(result._result.get("msg", "the task failed"))}

    def v2_runner_on_unreachable(self, result):
        if self._ours(result):
            name = result._host.get_name()
            self.targets[name] = {"name": name, "status": "unreachable",
                                  "message": str(result._result.get("msg", "unreachable")).strip()}

    def v2_playbook_on_stats(self, stats):
        from mzops import report
        from mzops.results import Run, target_from_dict

        path = self.get_option("output")
        run = Run(self.profile, [target_from_dict(t) for _, t in sorted(self.targets.items())])
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as out:
            for line in report.jsonl(run):
                out.write(line)
        os.replace(tmp, path)
        self._display.display(f"mzops: {len(run.targets)} targets written to {path}")
