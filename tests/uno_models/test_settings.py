from __future__ import annotations

import re

import pytest

from uno_models import SettingsError, load_settings


def test_defaults_follow_the_paper_and_design():
    s = load_settings(env={}, toml_path=None)
    assert s.gap_threshold == 0.45 and s.broker_kind == "noida" and s.data_dir == ".uno"


def test_environment_overrides_toml_which_overrides_defaults(tmp_path):
    toml = tmp_path / "uno.toml"
    toml.write_text('[uno]\nrefresh_min_logs = 5\nllm_model = "from-toml"\n')
    s = load_settings(env={"UNO_LLM_MODEL": "from-env"}, toml_path=toml)
    assert s.refresh_min_logs == 5 and s.llm_model == "from-env"


def test_uno_config_variable_names_the_file(tmp_path):
    toml = tmp_path / "prod.toml"
    toml.write_text("min_users = 4\n")
    assert load_settings(env={"UNO_CONFIG": str(toml)}).min_users == 4


def test_bad_values_name_the_setting_and_its_variable():
    with pytest.raises(SettingsError, match=r"refresh_min_logs \(env UNO_REFRESH_MIN_LOGS\)"):
        load_settings(env={"UNO_REFRESH_MIN_LOGS": "many"}, toml_path=None)
    with pytest.raises(SettingsError, match="gap_threshold"):
        load_settings(env={"UNO_GAP_THRESHOLD": "1.5"}, toml_path=None)
    with pytest.raises(SettingsError, match="llm_json_mode"):
        load_settings(env={"UNO_LLM_JSON_MODE": "xml"}, toml_path=None)


def test_toml_rejects_unknown_keys_and_secrets(tmp_path):
    toml = tmp_path / "uno.toml"
    toml.write_text("refresh_min_log = 5\n")
    with pytest.raises(SettingsError, match=r"unknown setting.*refresh_min_log"):
        load_settings(env={}, toml_path=toml)
    toml.write_text('llm_api_key = "sk-abc"\n')
    with pytest.raises(SettingsError, match="belong in the environment"):
        load_settings(env={}, toml_path=toml)


def test_secrets_never_appear_in_repr_or_public_view():
    s = load_settings(env={"UNO_LLM_API_KEY": "sk-secret-123", "UNO_API_TOKEN": "tok-456"}, toml_path=None)
    assert s.llm_api_key == "sk-secret-123"
    for text in (repr(s), str(s.public())):
        assert "sk-secret-123" not in text and "tok-456" not in text and "***" in text


def test_nothing_is_open_by_default_the_api_leaves_loopback_only_with_a_token():
    assert load_settings(env={}, toml_path=None).api_host == "127.0.0.1"
    for host in ("0.0.0.0", "10.1.2.3", "::", "uno.example.com"):
        with pytest.raises(
            SettingsError, match=f"api_host '{re.escape(host)}' is not a loopback address.*UNO_API_TOKEN"
        ):
            load_settings(env={"UNO_API_HOST": host}, toml_path=None)
    assert (
        load_settings(env={"UNO_API_HOST": "0.0.0.0", "UNO_API_TOKEN": "s3cret"}, toml_path=None).api_host == "0.0.0.0"
    )
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        assert load_settings(env={"UNO_API_HOST": host}, toml_path=None).api_host == host
