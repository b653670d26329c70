"""Real components for tests, started and stopped by tests, Ansible or molecule.

``python -m testenv start|stop|status idp|redis --state-dir DIR`` wraps the same classes the
pytest fixtures use. Every process writes a PID file in its state directory and is stopped by
that PID, never by name."""

from .idp import IdentityProvider
from .process import ManagedProcess, free_port
from .prometheus import PrometheusServer
from .redis_server import RedisServer

__all__ = ["IdentityProvider", "ManagedProcess", "PrometheusServer", "RedisServer", "free_port"]
