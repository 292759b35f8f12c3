import pytest
from django.contrib.auth.models import Group

from core.roles import MARKETER, VIEWER, user_can_edit, user_role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def perms(group_name):
    group = Group.objects.get(name=group_name)
    return set(group.permissions.values_list("content_type__app_label", "codename"))


def test_the_migration_creates_both_groups_with_model_permissions():
    marketer, viewer = perms(MARKETER), perms(VIEWER)
    assert ("destinations", "add_connection") in marketer
    assert ("activation", "change_dataflow") in marketer
    assert ("activation", "view_exportrun") in marketer
    assert ("activation", "change_exportrun") not in marketer
    assert ("profiles", "view_segment") in viewer
    assert ("activation", "view_deliverylog") in viewer
    assert all(codename.startswith("view_") for _, codename in viewer)


def test_roles_of_users():
    assert user_role(UserFactory(role=VIEWER)) == VIEWER
    assert user_role(UserFactory()) == MARKETER
    assert user_role(UserFactory(role="", is_staff=True)) == "Admin"
    assert user_can_edit(UserFactory(role="", is_superuser=True))
    assert not user_can_edit(UserFactory(role=VIEWER))
    assert not user_can_edit(UserFactory(role=MARKETER, is_active=False))
