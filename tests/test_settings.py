"""Settings: read from the environment and .env; bad values named with a fix."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError


def test_defaults_and_environment_wins_over_dotenv(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("SLACK_BOT_TOKEN=xoxb-from-file\nPORT=4000\nBOT_TIMEZONE=Europe/Oslo\n")
    settings = Settings.from_env({"PORT": "5000"}, dotenv_path=dotenv)
    assert settings.slack_bot_token == "xoxb-from-file"
    assert settings.port == 5000
    assert str(settings.timezone) == "Europe/Oslo"
    assert settings.database_url == "sqlite:///dks-bot.db"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert not Settings.from_env({}, dotenv_path=None).has_slack_credentials


def test_database_and_api_urls_are_normalised():
    s = Settings.from_env(
        {"DATABASE_URL": "postgres://u@h/db", "SLACK_API_URL": "http://127.0.0.1:9/api"},
        dotenv_path=None,
    )
    assert s.database_url == "postgresql+psycopg://u@h/db"
    assert s.slack_api_url == "http://127.0.0.1:9/api/"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"SLACK_BOT_TOKEN": "xoxp-user"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN"),
        ({"DATABASE_URL": "dks.db"}, "DATABASE_URL"),
        ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"),
        ({"BOT_TIMEZONE": "Europe/Osl"}, "BOT_TIMEZONE"),
        ({"PORT": "80a"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"REMINDER_GRACE_HOURS": "lots"}, "REMINDER_GRACE_HOURS"),
        ({"DKS_SECRET_KEY": "short"}, "DKS_SECRET_KEY"),
    ],
)
def test_malformed_settings_name_the_variable(env, names):
    with pytest.raises(SettingsError, match=names):
        Settings.from_env(env, dotenv_path=None)


def test_secrets_never_appear_in_repr():
    s = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-secret-value"}, dotenv_path=None)
    assert "xoxb-secret-value" not in repr(s)
