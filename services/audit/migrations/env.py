from servicekit.migrations import run_env
from services.audit.models import metadata

run_env(metadata)
