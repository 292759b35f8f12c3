"""factory_boy factories shared by every app's tests."""

from typing import Any

import factory
from django.contrib.auth import get_user_model


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"marketer{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")

    @factory.post_generation
    def password(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        self.set_password(extracted or "correct-horse-battery")
        if create:
            self.save()

    @factory.post_generation
    def role(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        """Marketer unless told otherwise: role="Viewer", or role="" for no role."""
        from core.roles import MARKETER, user_set_role

        role = MARKETER if extracted is None else extracted
        if create and role:
            user_set_role(user=self, role=role)


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "profiles.Segment"

    name = factory.Sequence(lambda n: f"Segment {n}")
    rule = factory.LazyFunction(lambda: {"op": "exists", "path": "personalEmail.address"})


class ProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "profiles.Profile"

    attributes = factory.Sequence(
        lambda n: {
            "person": {"name": {"firstName": f"First{n}", "lastName": f"Last{n}"}},
            "personalEmail": {"address": f"person{n}@example.com"},
        }
    )


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "profiles.Identity"

    profile = factory.SubFactory(ProfileFactory)
    namespace = "email"
    value = factory.Sequence(lambda n: f"person{n}@example.com")


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "destinations.Connection"
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Kinesis {n}")
    access_key_id = "AKIAIOSFODNN7EXAMPLE"
    region = "us-east-1"
    stream_name = "demo-stream"

    @factory.post_generation
    def secret(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        self.set_secret(extracted or "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        if create:
            self.save()


class DataflowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "activation.Dataflow"

    connection = factory.SubFactory(ConnectionFactory)
    name = factory.Sequence(lambda n: f"Dataflow {n}")
    status = "enabled"
    created_by = factory.SelfAttribute("connection.owner")
