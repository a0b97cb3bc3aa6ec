from servicekit.migrations import run_env
from services.audit.adapters.models import metadata

run_env(metadata)
