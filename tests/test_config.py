"""Configuration: defaults, the TOML loader, and the errors that name the bad key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from leakwatch.config import (
    DEFAULT_STORE,
    STORE_ENV,
    Config,
    ConfigError,
    DetectParams,
    ExtractLimits,
    FingerprintParams,
    config_from_mapping,
    load_config,
)


def write_config(tmp_path: Path, body: str, name: str = "leakwatch.toml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def test_defaults_validate() -> None:
    cfg = Config()
    assert cfg.validate() is cfg
    FingerprintParams().validate()
    ExtractLimits().validate()
    DetectParams().validate()
    assert cfg.store == DEFAULT_STORE
    assert cfg.fingerprint is None
    assert cfg.follow_symlinks is False


def test_guaranteed_run_and_passage_window_defaults() -> None:
    params = FingerprintParams()
    assert params.guaranteed_run == 20
    assert params.guaranteed_run == params.shingle_size + params.winnow_window - 1
    assert params.passage_window == 2 * params.passage_stride
    # The default finding threshold equals the winnowing guarantee.
    assert DetectParams().min_words == params.guaranteed_run


def test_load_config_none_gives_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STORE_ENV, raising=False)
    cfg = load_config(None)
    assert cfg == Config()
    assert cfg.store == DEFAULT_STORE


def test_load_config_none_honours_store_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(STORE_ENV, str(tmp_path / "env-store"))
    assert load_config(None).store == str(tmp_path / "env-store")


def test_empty_store_env_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STORE_ENV, "")
    assert load_config(None).store == DEFAULT_STORE


def test_store_in_file_wins_over_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(STORE_ENV, "/from/env")
    path = write_config(tmp_path, 'store = "/from/file"\n')
    assert load_config(path).store == "/from/file"


def test_env_fills_store_missing_from_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(STORE_ENV, "/from/env")
    path = write_config(tmp_path, "[detect]\nmin_words = 25\n")
    cfg = load_config(path)
    assert cfg.store == "/from/env"
    assert cfg.detect.min_words == 25


def test_toml_sections_load_into_frozen_dataclasses(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(STORE_ENV, raising=False)
    path = write_config(
        tmp_path,
        'store = "/srv/fp"\nkey_file = "/etc/lw.key"\nfollow_symlinks = true\n'
        "[detect]\nmin_words = 30\nmax_df_fraction = 1\n"
        "[fingerprint]\nshingle_size = 4\n"
        "[extract]\nmax_file_bytes = 1000\n",
    )
    cfg = load_config(path)
    assert cfg.store == "/srv/fp"
    assert cfg.key_file == "/etc/lw.key"
    assert cfg.follow_symlinks is True
    assert cfg.detect == DetectParams(min_words=30, max_df_fraction=1.0)
    # An integer is accepted where a float is expected, and stored as float.
    assert isinstance(cfg.detect.max_df_fraction, float)
    assert isinstance(cfg.fingerprint, FingerprintParams)
    assert cfg.fingerprint == FingerprintParams(shingle_size=4)
    assert cfg.fingerprint.guaranteed_run == 4 + 16 - 1
    assert cfg.extract == ExtractLimits(max_file_bytes=1000)
    for section in (cfg, cfg.detect, cfg.fingerprint, cfg.extract):
        with pytest.raises(dataclasses.FrozenInstanceError):
            section.store = "x"  # type: ignore[misc, union-attr]


def test_known_extra_sections_are_tolerated(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[report]\nx = 2\n[audit]\ny = 3\n")
    assert load_config(path).detect == DetectParams()


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ("bogus = 1\n", ["bogus"]),
        ("[detect]\nmin_wrods = 3\n", ["min_wrods", "[detect]"]),
        ("[fingerprint]\nshingle = 3\n", ["shingle", "[fingerprint]"]),
        ("[extract]\nmax_bytes = 3\n", ["max_bytes", "[extract]"]),
    ],
)
def test_unknown_keys_are_named(tmp_path: Path, body: str, names: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write_config(tmp_path, body))
    for name in names:
        assert name in str(err.value)


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('[detect]\nmin_words = "x"\n', "min_words"),
        ("[detect]\nmin_words = 2.5\n", "min_words"),
        ("[detect]\nmin_words = true\n", "min_words"),
        ('[detect]\nmax_df_fraction = "0.3"\n', "max_df_fraction"),
        ("[fingerprint]\nshingle_size = [5]\n", "shingle_size"),
        ("[extract]\nmax_file_bytes = 1.5\n", "max_file_bytes"),
        ("store = 5\n", "store"),
        ("key_file = false\n", "key_file"),
        ('follow_symlinks = "yes"\n', "follow_symlinks"),
        ("detect = 3\n", "detect"),
    ],
)
def test_wrong_types_are_named(tmp_path: Path, body: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_config(write_config(tmp_path, body))


@pytest.mark.parametrize(
    ("body", "key"),
    [
        # 5 + 40 - 1 = 44 words > 40
        ("[fingerprint]\nwinnow_window = 40\n", "winnow_window"),
        ("[fingerprint]\nshingle_size = 1\n", "shingle_size"),
        ("[fingerprint]\nshingle_size = 17\n", "shingle_size"),
        ("[fingerprint]\nwinnow_window = 0\n", "winnow_window"),
        ("[fingerprint]\npassage_stride = 5\n", "passage_stride"),
        ("[fingerprint]\nnum_perm = 8\n", "num_perm"),
        ("[fingerprint]\nlsh_threshold = 0.99\n", "lsh_threshold"),
        ("[detect]\nmin_words = 0\n", "min_words"),
        ("[detect]\nmax_gap = 0\n", "max_gap"),
        ("[detect]\nmax_df_fraction = 1.5\n", "max_df_fraction"),
        ("[detect]\nnear_duplicate_containment = 0\n", "near_duplicate_containment"),
        ("[extract]\nmax_pdf_pages = 0\n", "max_pdf_pages"),
        ("[extract]\nmax_compression_ratio = -1.0\n", "max_compression_ratio"),
    ],
)
def test_out_of_range_values_are_named(tmp_path: Path, body: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_config(write_config(tmp_path, body))


def test_guaranteed_run_limit_is_inclusive() -> None:
    FingerprintParams(shingle_size=5, winnow_window=36).validate()  # exactly 40 words
    with pytest.raises(ConfigError, match="winnow_window"):
        FingerprintParams(shingle_size=5, winnow_window=37).validate()


def test_invalid_toml(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[detect\nmin_words = = 3\n")
    with pytest.raises(ConfigError, match="not valid TOML") as err:
        load_config(path)
    assert str(path) in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError, match="not found") as err:
        load_config(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("content", [b"\xff\xfe\x00bad", None])
def test_unreadable_file(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "cfg.toml"
    if content is None:
        path.mkdir()  # a folder where a file is expected
    else:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(path)


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


def test_config_from_mapping_validates() -> None:
    with pytest.raises(ConfigError, match="min_words"):
        config_from_mapping({"detect": {"min_words": -3}})
    cfg = config_from_mapping({"fingerprint": {"winnow_window": 10}})
    assert cfg.fingerprint == FingerprintParams(winnow_window=10)


def test_with_store() -> None:
    cfg = Config()
    assert cfg.with_store(None) is cfg
    assert cfg.with_store("/x").store == "/x"
    assert cfg.store == DEFAULT_STORE


def test_shipped_example_config_loads_with_the_defaults() -> None:
    from leakwatch.config import Config, load_config

    shipped = load_config(Path(__file__).resolve().parents[1] / "configs" / "leakwatch.toml")
    assert shipped == Config()


def test_code_detect_section_keeps_its_own_defaults(tmp_path: Path) -> None:
    from leakwatch.config import CODE_DETECT, load_config

    path = tmp_path / "c.toml"
    path.write_text("[code_detect]\nmin_words = 200\n", encoding="utf-8")
    cfg = load_config(path)
    # Unset keys take the code defaults, not the prose ones.
    assert cfg.code_detect.min_words == 200
    assert cfg.code_detect.near_duplicate_containment == CODE_DETECT.near_duplicate_containment == 0.7
    assert cfg.detect.min_words == 20
