from servicekit.migrations import run_env
from services.notify.adapters.models import metadata

run_env(metadata)
