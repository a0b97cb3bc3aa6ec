from servicekit.migrations import run_env
from services.tenancy.adapters.models import metadata

run_env(metadata)
