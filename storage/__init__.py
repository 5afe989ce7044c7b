"""Persistence: sqlmodel tables, repositories, migrations and encryption of confidential text."""
