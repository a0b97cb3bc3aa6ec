"""Wire contracts shared by the services and the gateway.

Only wire models, event names and boundary errors live here: nothing that runs.
"""
