from typing import Any

import pytest

from core.roles import VIEWER
from tests.factories import UserFactory


@pytest.fixture
def viewer(db: Any) -> Any:
    return UserFactory(username="viewer", role=VIEWER)


@pytest.fixture
def viewer_client(client: Any, viewer: Any) -> Any:
    client.force_login(viewer)
    return client
