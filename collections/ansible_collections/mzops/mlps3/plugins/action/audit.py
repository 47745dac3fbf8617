# The mzops.mlps3.audit action: mzops's host audit as an Ansible task.
from __future__ import annotations

import time

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("profile", "rules", "waivers"))

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True      # read-only: check mode changes nothing either
        result = super().run(tmp, task_vars)
        try:
            from mzops.compliance import playbook
            from mzops.errors import InputError
        except ImportError as exc:
            raise AnsibleActionFail(f"the mzops Python package is not installed beside Ansible: {exc}") from None
        args = self._task.args
        profile = str(args.get("profile") or "mlps3")
        rules = args.get("rules")
        if isinstance(rules, str):
            rules = [r.strip() for r in rules.split(",") if r.strip()]
        waivers = args.get("waivers")
        try:
            done = playbook.plan(profile, list(rules) if rules else None)
        except InputError as exc:
            raise AnsibleActionFail(str(exc)) from None
        started = time.monotonic()
        # Unreachable hosts raise here, and Ansible reports them as unreachable.
        out = self._low_level_execute_command(done.command, in_data=done.script, sudoable=True)
        seconds = time.monotonic() - started
        name = str(task_vars["inventory_hostname"])
        hostvars = {str(k): v for k, v in task_vars.items()}
        try:
            target = playbook.evaluate(name, hostvars, [str(g) for g in task_vars.get("group_names", [])], done,
                                       out.get("rc", -1), out.get("stdout", "").encode("utf-8", "replace"),
                                       out.get("stderr", ""), seconds, profile, list(rules) if rules else None,
                                       str(waivers) if waivers else None)
        except InputError as exc:
            raise AnsibleActionFail(str(exc)) from None
        counts = target.get("counts", {})
        result.update(changed=False, mzops_target=target,
                      msg=target.get("message") or ", ".join(f"{counts.get(k, 0)} {k}" for k in
                                                             ("pass", "fail", "error", "manual", "waived")))
        if target["status"] != "assessed":
            result["failed"] = True
        return result
