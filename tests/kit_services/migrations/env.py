from servicekit.migrations import run_env
from tests.kit_services.models import metadata

run_env(metadata)
