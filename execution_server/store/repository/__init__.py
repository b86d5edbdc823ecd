"""The store's queries and writes, as plain functions over an async connection (SQLAlchemy
Core, no ORM), one module per table or concern. Callers use them as `repository.<name>`."""

from execution_server.store.repository.records import StoredPosition, StoredKillSwitch, StoredOperatorAction
from execution_server.store.repository.orders import (
    insert_orders,
    update_orders,
    get_order,
    get_order_by_client_id,
    get_order_by_broker_id,
    holders_of_broker_ids,
    open_orders,
    list_orders,
)
from execution_server.store.repository.fills import fill_exists, insert_fills, execution_ids_of_open_orders, fills_of
from execution_server.store.repository.event_log import (
    insert_events,
    events_after,
    encoded_events_after,
    max_sequence,
    min_sequence,
    has_event,
    trim_events,
)
from execution_server.store.repository.positions import load_positions, save_positions
from execution_server.store.repository.risk_state import (
    load_kill_switch,
    save_kill_switch,
    load_day_openings,
    load_day_opening_costs,
    save_day_openings,
    load_reduce_only_releases,
    save_reduce_only_release,
    day_cash,
)
from execution_server.store.repository.reconcile_runs import (
    insert_reconcile_run,
    complete_reconcile_run,
    recent_reconcile_runs,
)

from execution_server.store.repository.operator_actions import insert_operator_action, recent_operator_actions

__all__ = [
    "StoredKillSwitch",
    "StoredOperatorAction",
    "StoredPosition",
    "complete_reconcile_run",
    "day_cash",
    "encoded_events_after",
    "events_after",
    "execution_ids_of_open_orders",
    "fill_exists",
    "fills_of",
    "get_order",
    "get_order_by_broker_id",
    "get_order_by_client_id",
    "has_event",
    "holders_of_broker_ids",
    "insert_events",
    "insert_fills",
    "insert_operator_action",
    "insert_orders",
    "insert_reconcile_run",
    "list_orders",
    "load_day_opening_costs",
    "load_day_openings",
    "load_kill_switch",
    "load_positions",
    "load_reduce_only_releases",
    "max_sequence",
    "min_sequence",
    "open_orders",
    "recent_operator_actions",
    "recent_reconcile_runs",
    "save_day_openings",
    "save_kill_switch",
    "save_positions",
    "save_reduce_only_release",
    "trim_events",
    "update_orders",
]
