"""Grants: which business units (stores) a POS identity holds, and how a change reads.

A grant is one document per identity (``pos-grants/{email}``): the business units it
holds, or all of them (a central POS platform acting for every store). An identity
without a grant holds nothing. ``orders-stores`` changes grants at run time; the pos
function reads one document per identity and keeps it for at most
``POS_GRANTS_CACHE_SECONDS`` (docs/pos.md#how-an-identity-gets-its-stores).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.access import Caller
from shared.domain.ids import validate_id

GRANTS_COLLECTION = "pos-grants"
# One document per change, kept beside the grants: who changed what, before and after.
GRANT_CHANGES_COLLECTION = "pos-grant-changes"
BUSINESS_UNITS_FIELD = "businessUnits"
ALL_BUSINESS_UNITS_FIELD = "allBusinessUnits"
UPDATED_AT_FIELD = "updatedAt"
UPDATED_BY_FIELD = "updatedBy"
# The fields of a change document (terraform/firestore.tf exempts every one from indexing).
CHANGE_FIELDS = ("identity", "operator", "changedAt", "command", "before", "after")

# An email as Google puts it in an ID token, and as a Firestore document id: no "/",
# printable ASCII, at most 254 characters (RFC 5321's path limit).
_EMAIL = re.compile(r"[!-.0-~]{1,64}@[A-Za-z0-9.-]{1,252}")
MAX_EMAIL_LENGTH = 254


def identity_of(email: str) -> str:
    """The grant key of ``email``: lower case; ``ValueError`` when it cannot be an identity."""
    identity = email.strip().lower()
    if len(identity) > MAX_EMAIL_LENGTH or _EMAIL.fullmatch(identity) is None:
        raise ValueError(f"{email!r} is not an email address an ID token can carry")
    return identity


@dataclass(frozen=True, slots=True)
class Grant:
    """What one identity holds: ``business_units``, or every unit when ``all_business_units``."""

    identity: str
    business_units: frozenset[str] = frozenset()
    all_business_units: bool = False

    @property
    def is_empty(self) -> bool:
        return not self.all_business_units and not self.business_units

    def caller(self) -> Caller:
        return Caller(self.identity, None if self.all_business_units else self.business_units)

    def describe(self) -> str:
        if self.all_business_units:
            return "all business units"
        if not self.business_units:
            return "no business unit"
        return ", ".join(sorted(self.business_units))

    def to_document(self) -> dict[str, Any]:
        return {
            BUSINESS_UNITS_FIELD: sorted(self.business_units),
            ALL_BUSINESS_UNITS_FIELD: self.all_business_units,
        }

    def to_json(self) -> dict[str, Any]:
        return {"identity": self.identity, **self.to_document()}

    @classmethod
    def from_document(cls, identity: str, document: Mapping[str, Any]) -> Grant:
        units = document.get(BUSINESS_UNITS_FIELD) or []
        return cls(
            identity,
            frozenset(str(unit) for unit in units),
            bool(document.get(ALL_BUSINESS_UNITS_FIELD, False)),
        )


def no_grant(identity: str) -> Caller:
    """The caller an identity without a grant is: it holds no business unit."""
    return Caller(identity, frozenset())


def business_units_of(units: Iterable[str]) -> frozenset[str]:
    """Business unit ids as the API's paths take them; ``ValueError`` names the first bad one."""
    return frozenset(validate_id(unit, name="business unit id") for unit in units)


def granted(
    before: Grant | None, identity: str, units: Iterable[str], *, everything: bool
) -> Grant:
    """``before`` with ``units`` added, or holding every unit when ``everything``."""
    held = before.business_units if before is not None else frozenset()
    if everything:
        return Grant(identity, held, all_business_units=True)
    keeps_all = before is not None and before.all_business_units
    return Grant(identity, held | business_units_of(units), all_business_units=keeps_all)


def revoked(before: Grant | None, identity: str, units: Iterable[str] | None) -> Grant | None:
    """``before`` without ``units``; ``units=None`` revokes everything (``None``: no grant left).

    Naming units of an all-units grant is a ``ValueError``: it holds them through "all",
    and only a revoke of everything takes that away, so that no typo half-narrows it.
    """
    if units is None or before is None:
        return None
    if before.all_business_units:
        raise ValueError(
            f"{identity} holds all business units; revoke without business units to take "
            "them away, then grant the ones it keeps"
        )
    after = Grant(identity, before.business_units - frozenset(units))
    return None if after.is_empty else after


@dataclass(frozen=True, slots=True)
class GrantChange:
    """One change of one identity's grant, as the audit keeps it."""

    identity: str
    before: Grant | None
    after: Grant | None
    operator: str
    command: str
    changed_at: datetime

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def to_json(self) -> dict[str, Any]:
        return {
            "identity": self.identity,
            "operator": self.operator,
            "changedAt": self.changed_at.isoformat(),
            "command": self.command,
            "before": None if self.before is None else self.before.to_document(),
            "after": None if self.after is None else self.after.to_document(),
        }
