"""The Alpaca adapter: alpaca-py's TradingClient and TradingStream behind the BrokerClient port.

Pure parts, usable without a network:

* mapping.py     the tables (Alpaca's statuses and trade_updates events onto ours, our sides,
                 types and times in force onto alpaca-py's) and the conversions of one order
                 request, one order JSON and one trade_updates payload
* errors.py      alpaca-py's and requests' exceptions translated into the port's error tree,
                 per kind of call, in one context manager
* rate_limit.py  the request budget shared by every REST call (Alpaca allows 200 a minute),
                 with cancels ahead of reads

The I/O sits on these:

* client.py      AlpacaClient, the BrokerClient port: REST off the event loop (bounded threads,
                 HTTP timeout, the budget, translated errors), built by brokers/factory.py
* stream.py      trade_updates on the service's loop: connection watching, the events() queue
                 with markers, and recovery over REST after a reconnect
* progress.py    the fill guard: each execution counted once, never a cumulative figure, no overfill

The loopback emulator it is tested against is in emulator/. Everything here works on alpaca-py's raw_data dicts, never on its models: those turn
the wire's exact decimal strings into floats.
"""
