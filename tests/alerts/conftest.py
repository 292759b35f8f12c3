# The in-process moto Kinesis fixture the monitoring tests use.
from tests.activation.monitoring.conftest import moto_kinesis  # noqa: F401
