from servicekit.migrations import run_env
from services.identity.adapters.models import metadata

run_env(metadata)
