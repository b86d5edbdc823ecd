"""Who is calling, and what they may do: bearer tokens, roles and per-strategy isolation."""
