from __future__ import annotations

import pytest

from shared.config import DEFAULT_ORDERS_TOPIC, Settings
from shared.errors import ConfigurationError


def test_defaults_need_only_the_project() -> None:
    settings = Settings.from_env({"GOOGLE_CLOUD_PROJECT": "p"})
    assert settings.orders_topic == DEFAULT_ORDERS_TOPIC
    assert settings.orders_topic_path == "projects/p/topics/customer-orders"


def test_every_setting_is_read_from_its_variable() -> None:
    settings = Settings.from_env(
        {
            "GOOGLE_CLOUD_PROJECT": "p",
            "ORDERS_TOPIC": "t",
            "STORE_UPDATES_TOPIC": "s",
            "EVENTS_TOPIC": "e",
            "FIRESTORE_DATABASE": "orders",
            "PUBLISH_TIMEOUT_SECONDS": "2.5",
            "FIRESTORE_TIMEOUT_SECONDS": "4",
            "RETRY_AFTER_SECONDS": "9",
        }
    )
    assert settings == Settings(
        project_id="p",
        orders_topic="t",
        store_updates_topic="s",
        events_topic="e",
        firestore_database="orders",
        publish_timeout_seconds=2.5,
        firestore_timeout_seconds=4.0,
        retry_after_seconds=9,
    )


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"GOOGLE_CLOUD_PROJECT": " "},
        {"GOOGLE_CLOUD_PROJECT": "p", "PUBLISH_TIMEOUT_SECONDS": "soon"},
        {"GOOGLE_CLOUD_PROJECT": "p", "PUBLISH_TIMEOUT_SECONDS": "0"},
    ],
)
def test_a_broken_environment_is_refused_with_a_clear_error(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        Settings.from_env(environ)
