"""What tenancy talks to: its tables, queries, migrations and outbound clients."""
