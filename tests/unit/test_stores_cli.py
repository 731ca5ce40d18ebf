"""``orders-stores``: grant, revoke and list, each change one audit line (in-memory grants)."""

from __future__ import annotations

import getpass
import json
import shutil
import subprocess

import pytest

from shared.adapters.memory import InMemoryGrantStore
from shared.domain.grants import Grant
from shared.tools import stores


def run(
    grants: InMemoryGrantStore, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str, list[dict[str, object]]]:
    code = stores.main(list(argv), grants=grants)
    captured = capsys.readouterr()
    audits = [json.loads(line) for line in captured.err.splitlines() if line.startswith("{")]
    run.errors = captured.err  # type: ignore[attr-defined]
    return code, captured.out, audits


def test_grant_revoke_and_list(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stores, "operator", lambda: "ops@example.com")
    grants = InMemoryGrantStore()
    code, out, audits = run(grants, capsys, "grant", "Store-1@Example.com", "BU1", "BU2")
    assert code == 0
    assert out == "store-1@example.com: nothing -> BU1, BU2\n"
    assert audits == [
        {
            "audit": "orders-stores",
            "changed": True,
            "identity": "store-1@example.com",
            "operator": "ops@example.com",
            "changedAt": audits[0]["changedAt"],
            "command": "grant store-1@example.com BU1 BU2",
            "before": None,
            "after": {"businessUnits": ["BU1", "BU2"], "allBusinessUnits": False},
        }
    ]
    run(grants, capsys, "grant", "central@example.com", "--all")
    code, out, audits = run(grants, capsys, "revoke", "store-1@example.com", "BU1")
    assert (code, out) == (0, "store-1@example.com: BU1, BU2 -> BU2\n")
    assert audits[0]["before"] == {"businessUnits": ["BU1", "BU2"], "allBusinessUnits": False}
    code, out, _ = run(grants, capsys, "list")
    assert out == "central@example.com\tall business units\nstore-1@example.com\tBU2\n"
    code, out, _ = run(grants, capsys, "list", "STORE-1@example.com")
    assert out == "store-1@example.com\tBU2\n"
    code, out, audits = run(grants, capsys, "revoke", "central@example.com")
    assert (code, out) == (0, "central@example.com: all business units -> nothing\n")
    assert audits[0]["after"] is None
    assert grants.list() == [Grant("store-1@example.com", frozenset({"BU2"}))]
    # A change that changes nothing is said, audited as such, and not kept.
    kept = len(grants.changes)
    code, out, audits = run(grants, capsys, "grant", "store-1@example.com", "BU2")
    assert (code, out) == (0, "store-1@example.com: unchanged, holds BU2\n")
    assert audits[0]["changed"] is False
    assert len(grants.changes) == kept


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["grant", "a@example.com"], "name the business units to grant, or --all"),
        (["grant", "a@example.com", "BU1", "--all"], "name none with it"),
        (["grant", "not-an-email", "BU1"], "not an email address"),
        (["grant", "a@example.com", "a/b"], "must not contain '/'"),
        (["revoke", "all@example.com", "BU1"], "holds all business units"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_commands_change_nothing_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], complaint: str
) -> None:
    grants = InMemoryGrantStore(Grant("all@example.com", all_business_units=True))
    code, out, audits = run(grants, capsys, *argv)
    assert code == 2
    assert complaint in run.errors  # type: ignore[attr-defined]
    assert (out, audits, grants.changes) == ("", [], [])


def test_the_operator_is_the_os_user_under_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:1")
    monkeypatch.setattr(getpass, "getuser", lambda: "alice")
    assert stores.operator() == "alice (emulator)"


def test_the_operator_is_the_gcloud_account_when_known(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)

    class Done:
        stdout = "ops@example.com\n"

    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/gcloud")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: Done())
    assert stores.operator() == "ops@example.com"
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(stores, "_adc_account", lambda: None)
    monkeypatch.setattr(getpass, "getuser", lambda: "bob")
    assert stores.operator() == "bob (OS user)"
