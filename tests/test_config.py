"""Settings registry, config files and --set parsing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from deadstock.config import AGE_BUCKET_PRESETS, SETTINGS, load_config, parse_assignments
from deadstock.errors import ConfigError
from deadstock.schema import age_bucket_names


def test_defaults_come_from_the_registry() -> None:
    config = load_config()
    for name, setting in SETTINGS.items():
        assert config.get(name) == setting.default


def test_set_overrides_config_file(tmp_path: Path) -> None:
    path = tmp_path / "deadstock.toml"
    path.write_text(
        '[settings]\ncurrency = "EUR"\nage_buckets = [30, 60, 90]\n\n'
        '[tables]\nsales = "exports/orders.csv"\n\n'
        '[columns]\nsku = "Article"\n\n[columns.sales]\nqty = "Units sold"\n',
        encoding="utf-8",
    )
    config = load_config(path, ["currency=GBP", "as_of=2025-03-01"])
    assert config.currency == "GBP"
    assert config.age_buckets == (30, 60, 90)
    assert config.as_of == dt.date(2025, 3, 1)
    assert config.tables["sales"] == (tmp_path / "exports" / "orders.csv").resolve()
    assert config.column_mapping("sales") == {"Article": "sku", "Units sold": "qty"}
    assert config.column_mapping("inventory") == {"Article": "sku"}


def test_age_bucket_presets_and_names() -> None:
    assert load_config(None, ["age_buckets=amazon"]).age_buckets == AGE_BUCKET_PRESETS["amazon"]
    assert age_bucket_names((30, 60, 90)) == ["0_30", "31_60", "61_90", "91_plus"]
    names = age_bucket_names(AGE_BUCKET_PRESETS["amazon"])
    assert names[2] == "181_210" and names[-1] == "366_plus"


@pytest.mark.parametrize(
    ("assignment", "fragment"),
    [
        ("nonsense=1", "Unknown setting 'nonsense'"),
        ("age_buckets=60,30", "strictly increasing"),
        ("age_buckets=0,30", "positive"),
        ("avg_sales_window_days=0", "must be an int in [1, 3650]"),
        ("as_of=31/12/2025", "ISO date"),
        ("abc_basis=units", "must be one of revenue, profit"),
        ("reject_duplicate_rows=maybe", "true or false"),
        ("currency", "name=value"),
    ],
)
def test_bad_settings_name_the_setting_and_the_fix(assignment: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_assignments([assignment])
    assert fragment in str(info.value)
    assert "Fix:" in str(info.value)


def test_bad_config_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[settings\ncurrency=", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    odd = tmp_path / "odd.toml"
    odd.write_text("[setings]\ncurrency='EUR'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="Unknown section"):
        load_config(odd)


def test_as_dict_is_json_friendly() -> None:
    values = load_config(None, ["as_of=2025-01-31"]).as_dict()
    assert values["as_of"] == "2025-01-31"
    assert values["age_buckets"] == [30, 60, 90, 180, 365]
