"""What billing talks to: its tables, queries, migrations and outbound clients."""
