"""The sources file's opt-out and stop-sharing flags: read, listed among the columns the
file names, and refused with the line and the reason when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from caseapp.errors import ConfigError
from caseapp.records.sources import Flag, load_sources, parse_sources
from caseapp.resources import resources_dir

EXAMPLE_FILE = resources_dir() / "sources.example.toml"
EXAMPLE = EXAMPLE_FILE.read_text(encoding="utf-8")
ANCHOR = 'recipient_column = "affiliate_name"'


def with_share_flag(flag: str) -> str:
    assert EXAMPLE.count(ANCHOR) == 1
    return EXAMPLE.replace(ANCHOR, f"{ANCHOR}\nstop_sharing = {flag}")


def refusal(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_sources(text, tmp_path / "sources.toml")
    return caught.value.message


def line_of(text: str, start: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def test_the_example_maps_the_unsubscribe_flag() -> None:
    db = load_sources(EXAMPLE_FILE).source("customer_db")
    subscriptions = db.table("email_subscriptions")
    assert subscriptions.opt_out == Flag("unsubscribed", 1)
    assert "unsubscribed" in subscriptions.columns_used()
    assert db.table("customers").opt_out is None and db.table("customers").stop_sharing is None


def test_a_stop_sharing_flag(tmp_path: Path) -> None:
    text = with_share_flag('{ column = "do_not_share", value = true }')
    shares = parse_sources(text, tmp_path / "s.toml").source("customer_db").table(
        "affiliate_shares")
    assert shares.stop_sharing == Flag("do_not_share", True)
    assert "do_not_share" in shares.columns_used()


@pytest.mark.parametrize(("flag", "reason"), [
    ('{ column = "do_not_share" }', "the value to set is missing"),
    ('{ column = "x; DROP TABLE y", value = 1 }', "is not a plain column name"),
    ('{ column = "share_id", value = 1 }', "the key column 'share_id' cannot be the flag"),
    ('{ column = "f", value = 1, condition = "1=1" }', "SQL text is never read"),
    ('{ column = "f", value = [1] }', "must be true/false, a number or a text"),
    ('"do_not_share"', "must be a table"),
])
def test_a_wrong_flag_is_refused_with_its_line(tmp_path: Path, flag: str,
                                               reason: str) -> None:
    text = with_share_flag(flag)
    message = refusal(tmp_path, text)
    assert reason in message, message
    assert f"line {line_of(text, 'stop_sharing = ')}" in message
    assert "stop_sharing" in message
