"""Step kinds of DR plans, one module each: `Params` (its keys in a plan, checked when
the plan loads) and `run(mission, step) -> str` (what it did, or StepFailed). Adding a
kind is adding a file here."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from pydantic import BaseModel, ConfigDict

_KINDS: dict[str, ModuleType] = {}


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StepFailed(Exception):
    """A step could not do its part; the message says what and where."""


def known() -> dict[str, ModuleType]:
    if not _KINDS:
        for module in pkgutil.iter_modules(__path__):
            found = importlib.import_module(f"{__name__}.{module.name}")
            if hasattr(found, "run") and hasattr(found, "Params"):
                _KINDS[module.name] = found
    return dict(_KINDS)
