from servicekit.migrations import run_env
from services.billing.adapters.models import metadata

run_env(metadata)
