"""The kinds of value a setting can hold, each with the one rule that checks it.

The service's settings (config.py), the simulated broker's own (brokers/simulated/settings.py)
and the risk limits (risk/limits.py) use these, so that one kind of value is refused for the
same reason, with the same words, wherever it is written."""

from __future__ import annotations

import ipaddress
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

from pydantic import BeforeValidator

SECRET = "***"


class ConfigError(ValueError):
    """An invalid setting: the message names it and says what is wrong, on one line.

    A ValueError, so that pydantic's validators may raise it and hand it back unchanged
    (config_sources.config_error unwraps it)."""

    def __init__(self, setting: str, problem: str) -> None:
        problem = " ".join(problem.split())  # one line, whatever the cause said
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.setting, self.problem))


def money(value: Any) -> Decimal:
    """A TOML string or integer, or a Decimal: exact. A float has already lost the value the
    operator wrote (187.1 is not 187.1 in binary), so it is refused rather than rounded."""
    amount = _exact(value)
    if not amount.is_finite():
        raise ValueError(f"must be a finite number, got {value!r}")
    return amount


def positive_money(value: Any) -> Decimal:
    amount = _exact(value)
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"must be a positive number, got {value!r}")
    return amount


def _exact(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError(f"expected a decimal string or an integer, got {value!r}")
    if isinstance(value, float):
        raise ValueError(f'{value!r} is a float; write money exactly, as a string ("{value!r}") or an integer')
    if isinstance(value, int):
        return Decimal(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a decimal string or an integer, got {type(value).__name__}")
    try:
        return Decimal(value.strip())
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {value!r}") from None


def positive_seconds(value: Any) -> float:
    seconds = _number(value)
    if not seconds > 0:
        raise ValueError(f"must be a positive number of seconds, got {value!r}")
    return seconds


def non_negative_seconds(value: Any) -> float:
    seconds = _number(value)
    if seconds < 0:
        raise ValueError(f"must not be negative, got {value!r}")
    return seconds


def fraction(value: Any) -> float:
    """A probability: clock and dice arithmetic, not money, so a float is fine here."""
    share = _number(value)
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"must be within [0, 1], got {value!r}")
    return share


def check_outcomes(reject_fraction: float, unknown_outcome_fraction: float) -> None:
    """Failure injection: one draw decides, so the two shares cannot add up to more than all."""
    if reject_fraction + unknown_outcome_fraction > 1.0:
        raise ConfigError("simulator.unknown_outcome_fraction", "reject_fraction + unknown_outcome_fraction must not exceed 1")


def state_path(value: Any) -> Path | None:
    """Where the simulated broker journals; "memory" (or nothing) keeps it in memory only."""
    if value is None or isinstance(value, Path):
        return value
    if not isinstance(value, str):
        raise ValueError(f'expected a path or "memory", got {value!r}')
    text = value.strip()
    return None if text.lower() in ("", "memory", "none") else Path(text)


def clock_time(value: Any) -> str | None:
    if value in (None, ""):
        return None
    text = str(value)
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60 and len(minutes) == 2):
        raise ValueError(f'expected "HH:MM" (UTC), got {text!r}')
    return text


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


# --- database URLs: the plain forms people write, with the async driver chosen for them ---

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",  # Heroku's and libpq's spelling
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def database_url(value: Any) -> str:
    """`sqlite:///path` and `postgresql://…` / `postgres://…` get the async driver the service
    runs on; another driver (psycopg2, pysqlite: blocking) or database is refused."""
    if not isinstance(value, str):
        raise ValueError(f"expected a URL, got {type(value).__name__}")
    url = value.strip()
    scheme, separator, rest = url.partition("://")
    driver = _ASYNC_DRIVERS.get(scheme.lower()) if separator else None
    if driver is None:
        raise ValueError(
            "expected sqlite:///path or postgresql://user@host/db (or the explicit sqlite+aiosqlite:// "
            f"or postgresql+asyncpg://), got {mask_url_password(url)!r}"
        )
    return f"{driver}://{rest}"


def mask_url_password(url: str) -> str:
    try:
        password = urlparse(url).password
    except ValueError:  # an unparseable port: the URL is refused anyway, show it as it is
        return url
    if password:
        return url.replace(f":{password}@", f":{SECRET}@", 1)
    return url


# --- Alpaca's URLs ---

_PAPER_HOSTS = frozenset({"paper-api.alpaca.markets"})
_LIVE_HOSTS = frozenset({"api.alpaca.markets"})


def url_kind(url: str) -> str:
    """"paper", "live", "loopback" (the emulator) or "other", by host."""
    host = (urlparse(url).hostname or "").lower()
    if host in _PAPER_HOSTS:
        return "paper"
    if host in _LIVE_HOSTS:
        return "live"
    if host == "localhost":
        return "loopback"
    try:
        return "loopback" if ipaddress.ip_address(host).is_loopback else "other"
    except ValueError:
        return "other"


def _url(value: Any, secure: str, plain: str, path_allowed: bool) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a URL, got {type(value).__name__}")
    url = value.strip().rstrip("/")
    try:
        parsed = urlparse(url)
        parsed.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ValueError(f"not a URL: {url!r}") from None
    if parsed.scheme not in (secure, plain) or not parsed.hostname:
        raise ValueError(f"expected {secure}://host or {plain}://127.0.0.1:PORT, got {url!r}")
    # The keys travel with every request: in clear only to this machine.
    if parsed.scheme == plain and url_kind(url) != "loopback":
        raise ValueError(f"{plain}:// only to a loopback host (the keys would travel in clear), got {url!r}")
    if (parsed.path and not path_allowed) or parsed.query or parsed.fragment:
        raise ValueError(f"give the host only (alpaca-py appends /v2/...), got {url!r}")
    return url


def alpaca_url(value: Any) -> str:
    """A REST base URL, without a trailing slash (alpaca-py would write //v2/...)."""
    return _url(value, "https", "http", path_allowed=False)


def alpaca_stream_url(value: Any) -> str:
    """The websocket URL, path included (alpaca-py appends nothing); empty: derived."""
    if value in (None, ""):
        return ""
    return _url(value, "wss", "ws", path_allowed=True)


Money = Annotated[Decimal, BeforeValidator(money)]
PositiveMoney = Annotated[Decimal, BeforeValidator(positive_money)]
PositiveSeconds = Annotated[float, BeforeValidator(positive_seconds)]
NonNegativeSeconds = Annotated[float, BeforeValidator(non_negative_seconds)]
Fraction = Annotated[float, BeforeValidator(fraction)]
StatePath = Annotated[Path | None, BeforeValidator(state_path)]
ClockTime = Annotated[str | None, BeforeValidator(clock_time)]
DatabaseUrl = Annotated[str, BeforeValidator(database_url)]
AlpacaUrl = Annotated[str, BeforeValidator(alpaca_url)]
AlpacaDataUrl = Annotated[str, BeforeValidator(alpaca_url)]
AlpacaStreamUrl = Annotated[str, BeforeValidator(alpaca_stream_url)]
