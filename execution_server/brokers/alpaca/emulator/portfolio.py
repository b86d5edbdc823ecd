"""Cash and positions of the one emulated account, and their JSON shapes (§3.2, §3.3)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from execution_server.brokers.alpaca.emulator.wire import decimal_text, timestamp

_RATIO = Decimal("0.0001")


@dataclass(slots=True)
class Holding:
    """A signed quantity (negative: short) and the average price it was entered at."""

    qty: Decimal
    avg_entry_price: Decimal


class Portfolio:
    """Cash moves with every execution; a position's average follows the fills that open it."""

    def __init__(self, starting_cash: Decimal, created_at: datetime) -> None:
        self.cash = starting_cash
        self.holdings: dict[str, Holding] = {}
        self.account_id = str(uuid.uuid4())
        self.created_at = created_at

    def apply_fill(self, symbol: str, side: str, qty: Decimal, price: Decimal) -> Decimal:
        """Book one execution; returns the signed position after it."""
        signed = qty if side == "buy" else -qty
        self.cash -= signed * price
        held = self.holdings.get(symbol)
        if held is None or held.qty == 0:
            self.holdings[symbol] = Holding(signed, price)
        else:
            after = held.qty + signed
            if after == 0:
                del self.holdings[symbol]
                return Decimal(0)
            if (held.qty > 0) == (signed > 0):  # adding to it: the average moves
                held.avg_entry_price = (held.qty * held.avg_entry_price + signed * price) / after
            elif (held.qty > 0) != (after > 0):  # through zero: what is left opened at this price
                held.avg_entry_price = price
            held.qty = after
        return self.holdings[symbol].qty

    def set_holding(self, symbol: str, qty: Decimal, avg_entry_price: Decimal) -> None:
        """Change a position behind the service's back (no cash moves, no event)."""
        if qty == 0:
            self.holdings.pop(symbol, None)
        else:
            self.holdings[symbol] = Holding(qty, avg_entry_price)

    def position_qty(self, symbol: str) -> Decimal:
        held = self.holdings.get(symbol)
        return held.qty if held else Decimal(0)

    def market_value(self, prices: dict[str, Decimal], default: Decimal) -> tuple[Decimal, Decimal]:
        long = short = Decimal(0)
        for symbol, held in self.holdings.items():
            value = held.qty * prices.get(symbol, default)
            if value >= 0:
                long += value
            else:
                short += value
        return long, short

    def account_json(self, prices: dict[str, Decimal], default: Decimal) -> dict[str, Any]:
        long, short = self.market_value(prices, default)
        equity = self.cash + long + short
        buying_power = max(Decimal(0), self.cash)
        money = {
            "cash": self.cash, "buying_power": buying_power, "regt_buying_power": buying_power,
            "daytrading_buying_power": Decimal(0), "non_marginable_buying_power": buying_power,
            "equity": equity, "last_equity": equity, "portfolio_value": equity,
            "long_market_value": long, "short_market_value": short, "initial_margin": Decimal(0),
            "maintenance_margin": Decimal(0), "sma": Decimal(0), "accrued_fees": Decimal(0),
        }
        return {
            "id": self.account_id,
            "account_number": "EMU" + self.account_id[:8].upper(),
            "status": "ACTIVE",
            "crypto_status": "ACTIVE",
            "currency": "USD",
            **{name: decimal_text(value) for name, value in money.items()},
            "multiplier": "1",
            "pattern_day_trader": False,
            "trading_blocked": False,
            "transfers_blocked": False,
            "account_blocked": False,
            "trade_suspended_by_user": False,
            "shorting_enabled": True,
            "daytrade_count": 0,
            "created_at": timestamp(self.created_at),
        }


def position_json(symbol: str, asset_id: str, held: Holding, price: Decimal) -> dict[str, Any]:
    """Numbers as strings, `exchange` from the SDK's enum (§3.2: `"IEX"` fails parsing)."""
    cost_basis = (held.qty * held.avg_entry_price).quantize(_RATIO)
    market_value = (held.qty * price).quantize(_RATIO)
    unrealized = market_value - cost_basis
    ratio = (unrealized / abs(cost_basis)).quantize(_RATIO) if cost_basis else Decimal(0)
    numbers = {
        "qty": held.qty, "qty_available": held.qty,
        "avg_entry_price": held.avg_entry_price.quantize(_RATIO).normalize(),
        "cost_basis": cost_basis, "market_value": market_value, "current_price": price,
        "lastday_price": price, "change_today": Decimal(0),
        "unrealized_pl": unrealized, "unrealized_plpc": ratio,
        "unrealized_intraday_pl": unrealized, "unrealized_intraday_plpc": ratio,
    }
    return {
        "asset_id": asset_id,
        "symbol": symbol,
        "exchange": "NASDAQ",
        "asset_class": "us_equity",
        "asset_marginable": True,
        "side": "long" if held.qty > 0 else "short",
        **{name: decimal_text(value) for name, value in numbers.items()},
    }
