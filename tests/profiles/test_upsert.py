import gc
from typing import Any

import pytest

from profiles.models import Identity, IdentityNamespace, Profile, ProfileChange
from profiles.services import profile_upsert, profiles_upsert

pytestmark = pytest.mark.django_db


def record(attributes=None, **identities):
    return {
        "identityMap": {ns: [{"id": v} for v in vs] for ns, vs in identities.items()},
        "attributes": attributes or {},
    }


def ids_of(profile_id):
    return sorted(Identity.objects.filter(profile_id=profile_id).values_list("namespace", "value"))


def test_it_creates_a_profile_with_its_identities_and_a_change_row():
    result = profile_upsert(
        record=record(
            {"person": {"name": {"firstName": "Ann"}}}, email=["Ann@Acme.com "], crmid=["C1"]
        ),
        source="api",
    )
    assert result.status == "created"
    profile = Profile.objects.get(pk=result.profile_id)
    assert profile.attributes == {"person": {"name": {"firstName": "Ann"}}}
    assert ids_of(profile.pk) == [("crmid", "C1"), ("email", "ann@acme.com")]
    change = ProfileChange.objects.get(profile_id=profile.pk)
    assert change.written_paths == ["person.name.firstName"]
    assert change.changed_paths == ["person.name.firstName"]
    assert change.identities_added == [
        {"namespace": "email", "id": "ann@acme.com"},
        {"namespace": "crmid", "id": "C1"},
    ]
    assert change.source == "api"


def test_it_matches_by_any_identity_and_merges_a_partial_update():
    first = profile_upsert(
        record=record({"a": 1, "b": {"c": 2}}, email=["ann@acme.com"]), source="api"
    )
    second = profile_upsert(
        record=record({"b": {"d": 3}}, crmid=["C1"], email=["ANN@acme.com"]), source="api"
    )
    third = profile_upsert(record=record({"a": None}, crmid=["C1"]), source="api")
    assert second.status == third.status == "updated"
    assert first.profile_id == second.profile_id == third.profile_id
    assert Profile.objects.get().attributes == {"b": {"c": 2, "d": 3}}
    changes = list(ProfileChange.objects.order_by("id"))
    assert changes[1].identities_added == [{"namespace": "crmid", "id": "C1"}]
    assert changes[2].written_paths == ["a"]
    assert changes[2].identities_added == []


def test_writing_the_same_value_is_recorded_as_written_not_changed():
    profile_upsert(record=record({"tier": "gold"}, email=["a@x.io"]), source="api")
    profile_upsert(record=record({"tier": "gold"}, email=["a@x.io"]), source="api")
    last = ProfileChange.objects.order_by("-id").first()
    assert last.written_paths == ["tier"]
    assert last.changed_paths == []


def test_identities_of_two_profiles_are_a_conflict_not_a_merge():
    a = profile_upsert(record=record(email=["a@x.io"]), source="api")
    b = profile_upsert(record=record(crmid=["C2"]), source="api")
    result = profile_upsert(record=record({"x": 1}, email=["a@x.io"], crmid=["C2"]), source="api")
    assert result.status == "error"
    assert result.error.code == "identity_conflict"
    assert f"profile {a.profile_id}" in result.error.message
    assert f"profile {b.profile_id}" in result.error.message
    assert set(result.error.fields) == {"identityMap.email", "identityMap.crmid"}
    assert Profile.objects.count() == 2
    assert not any(p.attributes for p in Profile.objects.all())


def test_a_bad_record_does_not_stop_the_good_ones():
    results = profiles_upsert(
        records=[
            record({"n": 1}, email=["one@x.io"]),
            {"identityMap": {"shoe": [{"id": "9"}]}},
            record({"n": 3}, email=["three@x.io"]),
            "not an object",
        ],
        source="api",
    )
    assert [r.status for r in results] == ["created", "error", "created", "error"]
    assert results[1].error.fields == {
        "identityMap.shoe": (
            "unknown identity namespace 'shoe' (registered: crmid, ecid, email, phone)"
        )
    }
    assert Profile.objects.count() == 2


def test_later_records_of_a_batch_see_profiles_created_earlier_in_it():
    results = profiles_upsert(
        records=[
            record({"n": 1}, email=["a@x.io"]),
            record({"m": 2}, email=["a@x.io"], crmid=["C1"]),
            record({"k": 3}, crmid=["C1"]),
            record({}, phone=["+1555"], crmid=["C1"], ecid=["E1"]),
        ],
        source="api",
    )
    assert [r.status for r in results] == ["created", "updated", "updated", "updated"]
    assert len({r.profile_id for r in results}) == 1
    profile = Profile.objects.get()
    assert profile.attributes == {"n": 1, "m": 2, "k": 3}
    assert len(ids_of(profile.pk)) == 4
    change = ProfileChange.objects.get()
    assert change.written_paths == ["n", "m", "k"]
    assert len(change.identities_added) == 4


def test_a_batch_of_new_profiles_gets_ascending_ids_each_with_its_own_document_and_change():
    # On PostgreSQL the ids are drawn from the sequence before the rows are copied in.
    records = [record({"n": n, "tags": [n, None]}, email=[f"p{n}@x.io"]) for n in range(5)]
    records.insert(2, record({"bad": float("nan")}, email=["nan@x.io"]))
    results = profiles_upsert(records=records, source="import")
    written = [r for r in results if r.ok]
    assert [r.index for r in written] == [0, 1, 3, 4, 5]
    pks = [r.profile_id for r in written]
    assert pks == sorted(pks) and len(set(pks)) == 5
    for n, pk in enumerate(pks):
        assert Profile.objects.get(pk=pk).attributes == {"n": n, "tags": [n, None]}
        assert ids_of(pk) == [("email", f"p{n}@x.io")]
        change = ProfileChange.objects.get(profile_id=pk)
        assert (change.written_paths, change.changed_paths) == (["n", "tags"], ["n", "tags"])
        assert change.identities_added == [{"namespace": "email", "id": f"p{n}@x.io"}]
        assert (change.identities_removed, change.membership_changes) == ([], {})
        assert change.source == "import"
    txids = set(ProfileChange.objects.values_list("txid", flat=True))
    assert len(txids) == 1, "one batch, one transaction"


def test_a_conflict_inside_one_batch_is_reported():
    results = profiles_upsert(
        records=[
            record(email=["a@x.io"]),
            record(crmid=["C1"]),
            record(email=["a@x.io"], crmid=["C1"]),
        ],
        source="api",
    )
    assert [r.status for r in results] == ["created", "created", "error"]
    assert "record 0 of this batch" in results[2].error.message


@pytest.mark.parametrize("earlier_profiles", [0, 300])
def test_an_identity_can_be_removed(earlier_profiles):
    # Large profile ids catch comparisons by identity ("is") instead of by value.
    profiles_upsert(
        records=[record(crmid=[f"C{i}"]) for i in range(earlier_profiles)], source="api"
    )
    created = profile_upsert(record=record(email=["a@x.io"], phone=["+1"]), source="api")
    removal = {
        "identityMap": {"email": [{"id": "a@x.io"}], "phone": [{"id": "+1", "remove": True}]}
    }
    result = profile_upsert(record=removal, source="api")
    assert result.profile_id == created.profile_id
    assert ids_of(created.profile_id) == [("email", "a@x.io")]
    change = ProfileChange.objects.order_by("-id").first()
    assert change.identities_removed == [{"namespace": "phone", "id": "+1"}]


def test_removing_another_profiles_identity_is_refused():
    profile_upsert(record=record(email=["a@x.io"]), source="api")
    other = profile_upsert(record=record(phone=["+1"]), source="api")
    removal = {
        "identityMap": {"email": [{"id": "a@x.io"}], "phone": [{"id": "+1", "remove": True}]}
    }
    result = profile_upsert(record=removal, source="api")
    assert result.error.code == "identity_conflict"
    assert ids_of(other.profile_id) == [("phone", "+1")]


def test_a_custom_namespace_registered_by_an_admin_is_accepted():
    assert (
        profile_upsert(record=record(loyaltyid=["L1"]), source="api").error.code == "invalid_record"
    )
    IdentityNamespace.objects.create(code="loyaltyid", name="Loyalty ID")
    assert profile_upsert(record=record(loyaltyid=["L1"]), source="api").status == "created"


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        ({}, "identityMap", "is required"),
        ({"identityMap": {}}, "identityMap", "must be an object"),
        ({"identityMap": {"email": "a@x.io"}}, "identityMap.email", "non-empty list"),
        ({"identityMap": {"email": [{"id": 5}]}}, "identityMap.email[0].id", "must be a string"),
        (
            {"identityMap": {"email": [{"id": "  "}]}},
            "identityMap.email[0].id",
            "must not be empty",
        ),
        ({"identityMap": {"email": [{"id": "x" * 600}]}}, "identityMap.email[0].id", "longer than"),
        (
            {"identityMap": {"email": [{"id": "a", "foo": 1}]}},
            "identityMap.email[0].foo",
            "unknown",
        ),
        (
            {"identityMap": {"email": [{"id": "a", "zeta": 1, "beta": 2}]}},
            "identityMap.email[0].beta",
            "unknown",
        ),
        (
            {"identityMap": {"email": [{"id": "a", "primary": "yes"}]}},
            "identityMap.email[0].primary",
            "true or false",
        ),
        (
            {"identityMap": {"email": [{"id": "a", "remove": True}]}},
            "identityMap",
            "not being removed",
        ),
        ({"identityMap": {"email": [{"id": "a"}]}, "attributes": [1]}, "attributes", "JSON object"),
        (
            {"identityMap": {"email": [{"id": "a"}]}, "attributes": {"a.b": 1}},
            "attributes.a.b",
            "no dots",
        ),
        ({"identityMap": {"email": [{"id": "a"}]}, "attrs": {}}, "attrs", "unknown field"),
    ],
)
def test_bad_records_name_the_field(data, field, fragment):
    result = profile_upsert(record=data, source="api")
    assert result.status == "error"
    assert result.error.code == "invalid_record"
    assert fragment in result.error.fields[field]
    assert Profile.objects.count() == 0


def test_an_identity_may_carry_every_xdm_field():
    item = {"id": "ann@acme.com", "primary": True, "authenticatedState": "authenticated"}
    result = profile_upsert(record={"identityMap": {"email": [item]}}, source="api")
    assert result.status == "created"


def test_batches_are_limited_to_a_thousand_records():
    with pytest.raises(ValueError, match="at most 1000"):
        profiles_upsert(records=[record(email=["a@x.io"])] * 1001, source="api")


def test_every_writer_writes_its_batch_with_the_cyclic_collector_paused(monkeypatch):
    # The import command and the UI call the service directly, not through the API.
    from profiles import bulk

    collecting: list[bool] = []
    original = bulk.changes_insert

    def spy(*args: Any, **kwargs: Any) -> None:
        collecting.append(gc.isenabled())
        original(*args, **kwargs)

    monkeypatch.setattr(bulk, "changes_insert", spy)
    profiles_upsert(records=[record({"a": 1}, email=["ann@acme.com"])], source="import")
    assert collecting == [False]
    assert gc.isenabled()


def test_a_profile_stored_with_an_integer_beyond_64_bits_is_still_updated():
    # Stored before the input policy: the fast JSON encoder refuses it; the stdlib writes it.
    profile = Profile.objects.create(attributes={"legacy": 2**70, "score": 0.5})
    Identity.objects.create(profile=profile, namespace="email", value="old@acme.com")
    result = profile_upsert(record=record({"tier": "gold"}, email=["old@acme.com"]), source="api")
    assert result.status == "updated"
    profile.refresh_from_db()
    assert profile.attributes == {"legacy": 2**70, "score": 0.5, "tier": "gold"}
    assert type(profile.attributes["legacy"]) is int
