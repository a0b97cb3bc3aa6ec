# eventlet must patch the standard library before anything else imports it
# (docs/runtime-traps.md §6), or the first container test hangs.
import eventlet

eventlet.monkey_patch()

import warnings  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning, module="eventlet")

pytest_plugins = ["tests.support.fixtures"]
