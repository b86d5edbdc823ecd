"""The operator audit trail: who did what, when (entry.py: pure; trail.py: the database)."""
