"""examples/grafana/execution-dashboard.json: importable as it is (a datasource input that every
panel and query uses), and every metric its queries name is one a live server exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from execution.v1 import execution_pb2 as pb
from execution.v1 import simulator_pb2 as sim
from tests.harness import running
from tests.observability.scrape import scrape
from tests.observability.test_metrics import metrics_on

DASHBOARD = Path(__file__).parents[2] / "examples" / "grafana" / "execution-dashboard.json"
METRIC = re.compile(r"\b(execution_[a-z0-9_]+)")


def queries(dashboard: dict) -> list[str]:
    found = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", ())]
    found += [variable["query"]["query"] for variable in dashboard["templating"]["list"]]
    return found


def test_the_dashboard_imports_with_a_prometheus_datasource_input() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    (source,) = dashboard["__inputs"]
    assert (source["type"], source["pluginId"]) == ("datasource", "prometheus")
    reference = {"type": "prometheus", "uid": "${%s}" % source["name"]}
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == reference and panel["targets"], panel["title"]
        assert all(target["datasource"] == reference for target in panel["targets"])
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


async def test_every_metric_the_dashboard_queries_is_exported(database_url: str, tmp_path: Path) -> None:
    async with running(metrics_on(database_url, tmp_path)) as client:
        await client.simulator.SetPrice(sim.SetPriceRequest(symbol="AAPL", price="100"))
        order = await client.place(order_type=pb.ORDER_TYPE_LIMIT, limit_price="50")
        await client.execution.CancelOrder(pb.CancelOrderRequest(order_id=order.order_id))
        await client.place(quantity="1000000")  # rejected
        await client.place(quantity="1")  # filled
        await client.execution.Reconcile(pb.ReconcileRequest())
        samples, _ = await scrape(client.app.metrics_port)
    exported = {name for name, _ in samples}
    named = {name for query in queries(json.loads(DASHBOARD.read_text())) for name in METRIC.findall(query)}
    assert len(named) >= 15
    assert sorted(named - exported) == []
