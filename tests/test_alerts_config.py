"""The ``[alerts]`` section of ``edi-engine.toml`` and a profile's ``alerts``: mistakes are named by
their setting in one sentence, secrets are never written in either, and the commented example in
a new workspace's configuration is a working one."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from engine.alerts.settings import AlertsSettings, RetrySettings
from engine.config import CONFIG_NAME, DEFAULT_CONFIG, ConfigError, Settings, load_workspace
from mappings.profile_alerts import AlertKind
from mappings.profiles import EXAMPLES_DIR, ProfileError, load_partners

EMAIL = '[alerts.email]\nhost = "smtp.example.com"\nfrom = "edi@example.com"\nto = ["ops@example.com"]\n'


def problem_with(tmp_path: Path, alerts: str) -> str:
    (tmp_path / CONFIG_NAME).write_text(f"[alerts]\n{alerts}\n")
    with pytest.raises(ConfigError) as raised:
        load_workspace(tmp_path)
    return str(raised.value)


@pytest.mark.parametrize(
    ("alerts", "said"),
    [
        (EMAIL + 'password = "hunter2"', "alerts.email.password: Value error, a secret is never written in "
         "edi-engine.toml: name an environment variable"),
        ('[alerts.webhook]\nurl = "https://hooks.example.com/x"\nsecret = "s3cret"',
         "alerts.webhook.secret: Value error, a secret is never written in edi-engine.toml"),
        (EMAIL + 'username = "edi"\npassword = {env = "SMTP_PASSWORD"}',
         "alerts.email: Value error, a login needs starttls = true: the password would cross the network in clear text"),
        (EMAIL + 'starttls = true\nusername = "edi"', "alerts.email: Value error, a login needs both username and password"),
        (EMAIL.replace("ops@example.com", "ops at example"),
         "alerts.email.to.0: Value error, 'ops at example' is not an e-mail address: write one plain address"),
        (EMAIL.replace('"edi@example.com"', '"Edi <edi@example.com>"'), "alerts.email.from: Value error"),
        ('[alerts.webhook]\nurl = "hooks.example.com"\nsecret = {env = "S"}',
         "alerts.webhook.url: Value error, 'hooks.example.com' is not an http:// or https:// URL"),
        ('[alerts.webhook]\nurl = "https://hooks.example.com"', "alerts.webhook.secret: Field required"),
        ('kinds = ["quarantined"]', "alerts.kinds.0: Input should be 'retailer_cancel', 'retailer_change'"),
        ("[alerts.retry]\nattempts = 0", "alerts.retry.attempts: Input should be greater than or equal to 1"),
        (EMAIL + "pasword = 1", "alerts.email.pasword: Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_a_mistake_in_the_alerts_section_is_named_by_its_setting(tmp_path: Path, alerts: str, said: str) -> None:
    message = problem_with(tmp_path, alerts)
    assert message.startswith(f"{tmp_path / CONFIG_NAME}: ") and said in message, message
    assert "hunter2" not in message and "s3cret" not in message


def test_the_commented_example_in_a_new_configuration_is_valid() -> None:
    head, example = DEFAULT_CONFIG.split("# [alerts]\n")
    uncommented = "[alerts]\n" + "\n".join(line.removeprefix("# ") for line in example.splitlines())
    settings = Settings.model_validate(tomllib.loads(head + uncommented))
    alerts = settings.alerts
    assert alerts.email is not None and alerts.email.starttls and alerts.email.password is not None
    assert alerts.email.sender == "edi-engine@example.com" and alerts.email.password.env == "EDI_SMTP_PASSWORD"
    assert alerts.webhook is not None and alerts.webhook.secret.env == "EDI_WEBHOOK_SECRET"
    assert set(alerts.kinds) == set(AlertKind)
    assert Settings.model_validate(tomllib.loads(DEFAULT_CONFIG)).alerts == AlertsSettings()  # as shipped: nothing sent


def test_every_kind_is_sent_unless_the_section_says_otherwise() -> None:
    assert AlertsSettings().kinds == list(AlertKind) and AlertsSettings().email is None
    assert AlertsSettings.model_validate({"kinds": ["quarantine"]}).kinds == [AlertKind.QUARANTINE]


def test_the_backoff_doubles_up_to_its_cap() -> None:
    retry = RetrySettings(base_seconds=30, cap_seconds=100)
    assert [retry.delay(n).total_seconds() for n in (1, 2, 3, 4, 1000)] == [30, 60, 100, 100, 100]


def partners_with(tmp_path: Path, northwind_alerts: str) -> Path:
    folder = tmp_path / "partners"
    (folder / "northwind").mkdir(parents=True)
    profile = (EXAMPLES_DIR / "northwind" / "profile.yaml").read_text()
    (folder / "northwind" / "profile.yaml").write_text(profile + northwind_alerts)
    return folder


def test_a_profile_adds_recipients_and_turns_kinds_off(tmp_path: Path) -> None:
    folder = partners_with(tmp_path, "alerts:\n  to: [nw-desk@example.com]\n  off: [retailer_change, quarantine]\n")
    alerts = load_partners(folder)["northwind"].alerts
    assert alerts.to == ["nw-desk@example.com"] and alerts.off == [AlertKind.RETAILER_CHANGE, AlertKind.QUARANTINE]


def test_a_mistake_in_a_profiles_alerts_is_located(tmp_path: Path) -> None:
    folder = partners_with(tmp_path, "alerts:\n  to: [nw desk]\n  off: [cancels]\n")
    with pytest.raises(ProfileError) as raised:
        load_partners(folder)
    lines = str(raised.value).splitlines()
    profile = folder / "northwind" / "profile.yaml"
    count = len((EXAMPLES_DIR / "northwind" / "profile.yaml").read_text().splitlines())
    assert any(line.startswith(f"{profile}:{count + 2}:") and "alerts.to[0]" in line and "'nw desk' is not an e-mail "
               "address" in line for line in lines), lines  # fmt: skip
    assert any(line.startswith(f"{profile}:{count + 3}:") and "alerts.off[0]" in line for line in lines), lines
