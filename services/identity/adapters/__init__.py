"""What identity talks to: its tables, queries, migrations and outbound clients."""
