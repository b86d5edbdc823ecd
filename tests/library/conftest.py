from tests.alpaca.conftest import emulator  # noqa: F401  (the loopback Alpaca emulator fixture)
