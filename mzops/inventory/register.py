"""The account register: who may hold which account on which assets.

Auditors edit `inventory/accounts.yml` by hand, so the schema is small and every error
names the file, line and key.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mzops import yamlfile
from mzops.errors import InputError

ROLES = ("sysadmin", "secadmin", "auditadmin")
Role = Literal["sysadmin", "secadmin", "auditadmin"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(_Strict):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    roles: tuple[Role, ...] = ()
    valid_until: dt.date | None = None
    # SHA256 fingerprints of the person's SSH keys (ssh-keygen -lf): the evidence that
    # an account's authorized_keys belong to one person, or to several.
    ssh_keys: tuple[str, ...] = ()


class Account(_Strict):
    account: str = Field(min_length=1)
    person: str = Field(min_length=1)
    kind: Literal["personal", "service"]
    # Asset names or inventory group names the account may exist on.
    assets: tuple[str, ...] = Field(min_length=1)
    # The admin role this account exercises; must be one of the person's roles.
    role: Role | None = None
    valid_until: dt.date | None = None

    @field_validator("assets", mode="before")
    @classmethod
    def _one_or_many(cls, value):
        return [value] if isinstance(value, str) else value


class Register(_Strict):
    people: tuple[Person, ...] = ()
    accounts: tuple[Account, ...] = ()


class LoadedRegister:
    def __init__(self, register: Register, doc: yamlfile.Located):
        self.register = register
        self.doc = doc

    @property
    def people(self) -> dict[str, Person]:
        return {p.id: p for p in self.register.people}

    @property
    def accounts(self) -> tuple[Account, ...]:
        return self.register.accounts


def load(path: Path | str) -> LoadedRegister:
    doc = yamlfile.load(path)
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise InputError(f"{doc.path}:1: expected a mapping with 'people' and 'accounts'")
    try:
        register = Register.model_validate(data)
    except ValidationError as exc:
        # An unknown key usually explains a "missing" one (a misspelling): name it first.
        err = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        keypath = tuple(err["loc"])
        raise doc.error(keypath, _explain(err)) from None
    return LoadedRegister(register, doc)


def _explain(err: dict) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        return f"{err['input']!r} is not one of the allowed values ({err['ctx']['expected']})"
    if kind.startswith("date"):
        return f"bad date {err['input']!r} (use YYYY-MM-DD)"
    return err["msg"]
