from typing import Any

import pytest

from tests.destinations.conftest import (  # noqa: F401 - shared moto fixtures
    SECRET,
    STREAM,
    _fresh_aws_state,
    aws,
    owner_kinesis,
    stream,
)
from tests.factories import UserFactory


@pytest.fixture
def admin_user(db: Any) -> Any:
    return UserFactory(username="root", is_staff=True, is_superuser=True, role="")


@pytest.fixture
def admin_client(client: Any, admin_user: Any) -> Any:
    client.force_login(admin_user)
    return client
