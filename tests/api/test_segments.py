import pytest
from django.utils import timezone

from profiles.models import SegmentMembership
from tests.factories import ProfileFactory, SegmentFactory

pytestmark = pytest.mark.django_db


def test_segments_with_their_size_search_and_pages(api):
    buyers = SegmentFactory(name="Buyers", description="bought twice")
    SegmentFactory(name="Churners", active=False)
    for status in ("realized", "existing", "exited"):
        SegmentMembership.objects.create(
            profile=ProfileFactory(),
            segment=buyers,
            status=status,
            last_qualification_time=timezone.now(),
        )
    listed = api.get("/api/v1/segments").body
    assert [(s["name"], s["size"], s["status"]) for s in listed["items"]] == [
        ("Buyers", 2, "active"),  # exited members are not counted
        ("Churners", 0, "inactive"),
    ]
    assert listed["items"][0]["id"] == str(buyers.pk)
    found = api.get("/api/v1/segments?q=twice").body
    assert [s["name"] for s in found["items"]] == ["Buyers"]
    second = api.get("/api/v1/segments?limit=1&offset=1").body
    assert [s["name"] for s in second["items"]] == ["Churners"]
    assert second["_page"] == {"count": 2, "limit": 1, "offset": 1}


def test_bad_paging_is_a_400_naming_the_parameter(api):
    answer = api.get("/api/v1/segments?limit=100000")
    assert answer.status == 400
    assert "limit" in answer.error["fields"]
