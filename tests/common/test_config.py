"""Configuration: documented file, environment, flags, in that order of precedence."""

import configparser

import pytest

from stacklet import config as config_module


def test_documented_file_lists_every_option_commented(tmp_path):
    path = tmp_path / "stacklet.conf"
    config_module.write_documented_file(path)
    text = path.read_text()
    for option in config_module.OPTIONS:
        assert f"#{option.name} = " in text
        assert option.env_name in text
    # all commented out: it parses to empty sections, so defaults apply
    parser = configparser.ConfigParser()
    parser.read(path)
    assert all(not parser.items(section) for section in parser.sections())
    assert config_module.load(tmp_path, environ={}).bind == ("127.0.0.1", 8700)


def test_file_then_environment_then_flags(tmp_path):
    (tmp_path / "stacklet.conf").write_text(
        "[api]\nbind = 127.0.0.1:9001\n[identity]\ntoken_expiration = 60\n")
    from_file = config_module.load(tmp_path, environ={})
    assert from_file.bind == ("127.0.0.1", 9001)
    assert from_file.get("identity", "token_expiration") == 60
    assert from_file.public_url == "http://127.0.0.1:9001"
    assert from_file.database_url == f"sqlite:///{tmp_path / 'stacklet.db'}"

    env = {"STACKLET_API_BIND": "0.0.0.0:9002", "STACKLET_IDENTITY_TOKEN_EXPIRATION": "120"}
    from_env = config_module.load(tmp_path, environ=env)
    assert from_env.bind == ("0.0.0.0", 9002)
    assert from_env.public_url == "http://127.0.0.1:9002"
    assert from_env.get("identity", "token_expiration") == 120

    from_flag = config_module.load(tmp_path, environ=env,
                                   overrides={("api", "bind"): "127.0.0.2:9003"})
    assert from_flag.bind == ("127.0.0.2", 9003)


def test_bad_values_and_unknown_options_say_where(tmp_path):
    (tmp_path / "stacklet.conf").write_text("[identity]\ntoken_expiration = soon\n")
    with pytest.raises(SystemExit, match="token_expiration"):
        config_module.load(tmp_path, environ={})
    (tmp_path / "stacklet.conf").write_text("[identity]\ntoken_lifetime = 5\n")
    with pytest.raises(SystemExit, match="unknown option"):
        config_module.load(tmp_path, environ={})
