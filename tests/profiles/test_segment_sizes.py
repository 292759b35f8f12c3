"""A segment's size: its current members (realized + existing), for many segments at once."""

import pytest

from profiles import selectors
from profiles.models import MembershipStatus
from tests.activation.wizard.conftest import member
from tests.factories import SegmentFactory

pytestmark = pytest.mark.django_db


def test_segment_sizes_count_current_members_only() -> None:
    segment = SegmentFactory()
    member(segment)
    member(segment, status=MembershipStatus.EXISTING)
    member(segment, status=MembershipStatus.EXITED)
    empty = SegmentFactory()
    assert selectors.segment_sizes(segment_ids=[segment.id, empty.id]) == {
        segment.id: 2,
        empty.id: 0,
    }
