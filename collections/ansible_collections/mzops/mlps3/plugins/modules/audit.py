# The documentation of the mzops.mlps3.audit action (plugins/action/audit.py does the
# work on the controller; nothing of this file runs on a host).
from __future__ import annotations

DOCUMENTATION = r"""
module: audit
short_description: MLPS 2.0 level 3 audit of a host, read-only, as mzops audits it
description:
  - Sends mzops's POSIX sh collector over the host's connection (on standard input, one
    execution; the host needs no Python), evaluates what comes back on the controller
    with mzops's rule catalogue, the host's parameters and the waivers, and returns the
    host's result. Nothing on the host is changed.
  - The result is the same object C(mzops audit run --format json) gives per target.
options:
  profile:
    description: The baseline profile (a folder of mzops's baselines).
    type: str
    default: mlps3
  rules:
    description: Rule ids to evaluate (C(prefix*) allowed); all of the profile's host rules if not given.
    type: list
    elements: str
  waivers:
    description: A waivers file on the controller (mzops's format).
    type: path
requirements:
  - the mzops Python package beside Ansible on the controller or execution environment
attributes:
  check_mode:
    support: full
"""

EXAMPLES = r"""
- name: Audit
  mzops.mlps3.audit:
    profile: mlps3
    waivers: /runner/project/inventory/waivers.yml
"""

RETURN = r"""
mzops_target:
  description: The host's result (name, status, score, counts, verdicts per clause, results with evidence).
  returned: always
  type: dict
"""
