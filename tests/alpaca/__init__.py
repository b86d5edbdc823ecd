"""The Alpaca adapter's pure parts: tables, translations, the request budget."""
