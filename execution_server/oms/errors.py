"""What the OMS refuses, with the facts a caller needs; api/errors.py maps them to gRPC codes."""

from __future__ import annotations

from execution_server.domain.orders import OrderStatus
from execution_server.domain.quoting import excerpt


class OrderNotFound(Exception):
    def __init__(self, reference: str) -> None:
        super().__init__(f"no order {reference}")
        self.reference = reference


class ClientOrderIdConflict(Exception):
    """The client order id is taken by an order with different fields (of `strategy_id`)."""

    def __init__(self, client_order_id: str, order_id: str, differences: list[str], strategy_id: str = "") -> None:
        if order_id:
            message = (f"client_order_id {excerpt(client_order_id)} is already used by order {order_id} "
                       f"with different {', '.join(differences)}")
        else:
            message = f"client_order_id {excerpt(client_order_id)} is already used; choose another"
        super().__init__(message)
        self.client_order_id = client_order_id
        self.order_id = order_id
        self.differences = differences
        self.strategy_id = strategy_id

    def without_details(self) -> ClientOrderIdConflict:
        """The same refusal, saying nothing of the order that holds the id (another strategy's)."""
        return ClientOrderIdConflict(self.client_order_id, "", [])


class OrderNotCancellable(Exception):
    def __init__(self, order_id: str, status: OrderStatus) -> None:
        super().__init__(f"order {order_id} is {status.value} and cannot be cancelled")
        self.order_id = order_id
        self.status = status


class InvalidPageToken(ValueError):
    pass
