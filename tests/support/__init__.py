"""What the tests share: broker and database fixtures, fakes of the gateway's RPC client."""
