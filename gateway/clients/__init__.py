"""Typed clients of the five services, one module each: routes call
``rpc.tenancy.list_partners(query)``, never a service or method by its name as a string."""
