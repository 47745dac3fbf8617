"""Run records written one way: $MZOPS_HOME/<capability>/<run id>/run.json.

The folder also holds what the run keeps beside its record (facts before and after,
Ansible artifacts). Records are written atomically (a reader never sees half of
one) and mode 0700 folders keep them to the controller's user.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from pathlib import Path
from typing import Any

from mzops.errors import InputError, OperationFailed
from mzops.paths import mzops_home

RECORD = "run.json"
_RUN_ID = re.compile(r"^[0-9a-z][0-9a-zA-Z_.-]*$")


def new_run_id() -> str:
    """Sortable by time, unique enough for one controller: 20261201T081502-3fa2c1."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


class Records:
    def __init__(self, capability: str):
        self.capability = capability

    @property
    def root(self) -> Path:
        return mzops_home() / self.capability

    def folder(self, run_id: str, create: bool = True) -> Path:
        if not _RUN_ID.match(run_id):
            raise InputError(f"not a run id: {run_id!r}")
        path = self.root / run_id
        if create:
            try:
                path.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as exc:
                raise OperationFailed(f"{path}: cannot keep the run's record: {exc.strerror}") from None
        return path

    def save(self, run_id: str, data: dict[str, Any]) -> Path:
        path = self.folder(run_id) / RECORD
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str))
            tmp.replace(path)
        except OSError as exc:
            raise OperationFailed(f"{path}: cannot write the run's record: {exc.strerror}") from None
        return path

    def load(self, run_id: str) -> dict[str, Any]:
        path = self.folder(run_id, create=False) / RECORD
        if not path.is_file():
            raise InputError(f"run {run_id!r}: no record at {path} (see `mzops {self.capability} history`)")
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: unreadable run record: {exc}") from None

    def history(self) -> list[str]:
        """Run ids with a record, newest first."""
        paths = sorted(self.root.glob(f"*/{RECORD}"), key=lambda p: p.stat().st_mtime, reverse=True)
        return [p.parent.name for p in paths]
