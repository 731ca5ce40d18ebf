"""orders-dlq rejects bad input with one line and exit code 2, before touching Pub/Sub."""

from __future__ import annotations

import pytest

from shared.tools.dlq.cli import _resolve, build_parser, main


@pytest.fixture(autouse=True)
def _project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-unit")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["list", "--older-than", "3x"], "argument --older-than: duration '3x' is not a number"),
        (["replay", "--order", "CO-1"], "argument --order: order 'CO-1' is not of the form"),
        (["replay", "--order", "BU/__x__"], "customer order id must not have the form __name__"),
        (["list", "--limit", "0"], "argument --limit: '0' is not positive"),
        (["list", "--timeout", "-1"], "argument --timeout: '-1' is not positive"),
        (["list", "--business-unit", ""], "business unit id must not be empty"),
        (["purge"], "name what to drop: --order, --business-unit, --older-than, or --all"),
        (["purge", "--limit", "5", "--yes"], "name what to drop"),
        (["show", "BU1/"], "customer order id must not be empty"),
        (
            ["list", "--subscription", "projects/p/topics/t"],
            "is not of the form projects/PROJECT/subscriptions/NAME",
        ),
        (["replay", "--topic", "a/b"], "topic name 'a/b' must be a plain name"),
        (["list", "--webhook", "OMS"], "argument --webhook: 'OMS' is not a webhook name"),
        (
            ["list", "--webhook", "oms", "--subscription", "other"],
            "give one of --webhook, --subscription",
        ),
        ([], "the following arguments are required: COMMAND"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("orders-dlq: error: ")
    assert message in err
    assert err.count("\n") == 1


def test_without_a_project_it_says_how_to_name_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT")

    assert main(["list"]) == 2
    assert capsys.readouterr().err == (
        "orders-dlq: error: no project: pass --project or set GOOGLE_CLOUD_PROJECT\n"
    )


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--help"]) == 0
    assert "--dry-run" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "subscription", "topic"),
    [
        (["replay"], "customer-orders-dead-letter", "customer-orders"),
        (
            ["replay", "--webhook", "oms"],
            "customer-order-events-oms-dead-letter",
            "customer-order-events-oms-replay",
        ),
        (
            ["replay", "--webhook", "oms", "--events-topic", "ev", "--topic", "elsewhere"],
            "ev-oms-dead-letter",
            "elsewhere",
        ),
    ],
)
def test_a_webhook_names_its_queue_and_its_replay_topic(
    argv: list[str], subscription: str, topic: str
) -> None:
    args = _resolve(build_parser().parse_args(argv))
    assert (args.subscription, args.topic) == (subscription, topic)
