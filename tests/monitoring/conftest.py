import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from tests.factories import ConnectionFactory, DataflowFactory


def this_hour(hours_ago: int = 0) -> dt.datetime:
    return timezone.now().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=hours_ago)


@pytest.fixture
def connection(user: Any) -> Any:
    return ConnectionFactory(owner=user, name="Acme stream", stream_name="acme-events")


@pytest.fixture
def dataflow(connection: Any) -> Any:
    return DataflowFactory(connection=connection, name="Newsletter to Kinesis")
