"""A connection string shown anywhere keeps everything but its password."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.store import dsn


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://app:s3cret@db:5432/tokenhub", "postgresql://app:***@db:5432/tokenhub"),
        ("postgres://app:s3cret@db", "postgres://app:***@db"),
        ("postgresql://app@db/tokenhub", "postgresql://app@db/tokenhub"),
        ("postgresql:///tokenhub?host=/tmp", "postgresql:///tokenhub?host=/tmp"),
        (
            "postgresql://db/tokenhub?user=app&password=s3cret&sslmode=require",
            "postgresql://db/tokenhub?user=app&password=***&sslmode=require",
        ),
        ("postgresql://db?password=s3cret", "postgresql://db?password=***"),
        ("host=db user=app password=s3cret dbname=x", "host=db user=app password=*** dbname=x"),
        ("host=db password = 'se cret\\' x' dbname=x", "host=db password = *** dbname=x"),
        ("host=db dbname=x", "host=db dbname=x"),
    ],
)
def test_the_password_is_masked_and_nothing_else(url: str, shown: str) -> None:
    assert dsn.redacted(url) == shown


secrets = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789%-_.~!$", min_size=1)


@given(password=secrets)
def test_no_uri_password_survives(password: str) -> None:
    shown = dsn.redacted(f"postgresql://app:{password}@db:5432/tokenhub?password={password}")
    assert shown == "postgresql://app:***@db:5432/tokenhub?password=***"


@given(password=secrets)
def test_no_keyword_password_survives(password: str) -> None:
    shown = dsn.redacted(f"host=db password={password} user=app")
    assert shown == "host=db password=*** user=app"
