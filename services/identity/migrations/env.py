from servicekit.migrations import run_env
from services.identity.models import metadata

run_env(metadata)
