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
        ({"DKS_EXTRA_CLOSED_DAYS": "24.12"}, "DKS_EXTRA_CLOSED_DAYS"),
        ({"DKS_EXTRA_CLOSED_DAYS": "12-32"}, "DKS_EXTRA_CLOSED_DAYS"),
        ({"DKS_EXTRA_CLOSED_DAYS": "13-01"}, "DKS_EXTRA_CLOSED_DAYS"),
    ],
)
def test_malformed_settings_name_the_variable(env, names):
    with pytest.raises(SettingsError, match=names):
        Settings.from_env(env, dotenv_path=None)


def test_secrets_never_appear_in_repr():
    s = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-secret-value"}, dotenv_path=None)
    assert "xoxb-secret-value" not in repr(s)


def test_extra_closed_days_default_to_christmas_eve_and_new_years_eve():
    try:
        assert Settings.from_env({}, dotenv_path=None).extra_closed_days == ((12, 24), (12, 31))
        custom = Settings.from_env(
            {"DKS_EXTRA_CLOSED_DAYS": " 12-31, 05-02,12-24,12-31 "}, dotenv_path=None
        )
        assert custom.extra_closed_days == ((5, 2), (12, 24), (12, 31))
        none = Settings.from_env({"DKS_EXTRA_CLOSED_DAYS": "none"}, dotenv_path=None)
        assert none.extra_closed_days == ()
    finally:
        Settings.from_env({}, dotenv_path=None)  # the process's calendar back to the default


def test_a_malformed_closed_day_is_named_with_the_format():
    with pytest.raises(SettingsError) as err:
        Settings.from_env({"DKS_EXTRA_CLOSED_DAYS": "12-24,jul"}, dotenv_path=None)
    assert str(err.value) == (
        "DKS_EXTRA_CLOSED_DAYS='12-24,jul' must be days of the year as MM-DD separated by "
        "commas, such as 12-24,12-31, or 'none': 'jul' is not one."
    )
