import gc
from typing import Any

import pytest

from profiles.models import Identity, Profile, ProfileChange
from profiles.segments import segment_create

pytestmark = pytest.mark.django_db

URL = "/api/v1/profiles"


def rec(email, **attributes):
    return {"identityMap": {"email": [{"id": email}]}, "attributes": attributes}


def test_it_creates_then_updates_one_profile(api):
    created = api.post(URL, rec("ann@acme.com", person={"name": {"firstName": "Ann"}}))
    assert created.status_code == 200
    body = created.json()
    assert body["created"] == 1 and body["failed"] == 0
    result = body["results"][0]
    assert result["status"] == "created" and result["error"] is None
    pid = result["profileId"]
    updated = api.post(URL, rec("ANN@acme.com", person={"name": {"lastName": "Lee"}}))
    assert updated.json()["results"][0] == {
        "index": 0,
        "status": "updated",
        "profileId": pid,
        "error": None,
    }
    assert Profile.objects.get(pk=pid).attributes == {
        "person": {"name": {"firstName": "Ann", "lastName": "Lee"}}
    }
    assert ProfileChange.objects.filter(profile_id=pid, source="api").count() == 2


def test_a_batch_with_a_bad_record_writes_the_good_ones_and_answers_207(api):
    batch = [
        rec("a@x.io", n=1),
        {"identityMap": {"shoe": [{"id": "1"}]}},
        {"identityMap": {"email": [{"id": 7}]}},
        rec("b@x.io", n={"deep": "ok"}),
    ]
    response = api.post(URL, batch)
    assert response.status_code == 207
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["created", "error", "error", "created"]
    assert body["results"][1]["error"]["fields"] == {
        "identityMap.shoe": (
            "unknown identity namespace 'shoe' (registered: crmid, ecid, email, phone)"
        )
    }
    assert body["results"][2]["error"]["fields"] == {
        "identityMap.email[0].id": "is required and must be a string"
    }
    assert (body["created"], body["updated"], body["failed"]) == (2, 0, 2)
    assert Profile.objects.count() == 2


def test_a_batch_where_every_record_fails_answers_400_naming_record_and_field(api):
    response = api.post(
        URL, [rec("a@x.io"), {"identityMap": {"email": [{"id": "b"}]}, "attributes": 5}]
    )
    assert response.status_code == 207
    response = api.post(URL, [{"attributes": {}}, {"identityMap": {"fax": [{"id": "1"}]}}])
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_records"
    assert set(error["fields"]) == {"[0].identityMap", "[1].identityMap.fax"}


def test_a_single_bad_record_answers_400_with_its_own_fields(api):
    response = api.post(
        URL, {"identityMap": {"email": [{"id": "a@x.io"}]}, "attributes": {"a.b": 1}}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_record"
    assert list(error["fields"]) == ["attributes.a.b"]


def test_a_conflict_answers_409_and_merges_nothing(api):
    api.post(URL, rec("a@x.io"))
    api.post(URL, {"identityMap": {"crmid": [{"id": "C1"}]}})
    response = api.post(
        URL, {"identityMap": {"email": [{"id": "a@x.io"}], "crmid": [{"id": "C1"}]}}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "identity_conflict"
    assert Identity.objects.filter(namespace="crmid").values_list(
        "profile_id", flat=True
    ).get() != (
        Identity.objects.filter(namespace="email").values_list("profile_id", flat=True).get()
    )


def test_an_explicit_null_removes_an_attribute(api):
    pid = api.post(URL, rec("a@x.io", loyalty={"tier": "gold"}, n=1)).json()["results"][0][
        "profileId"
    ]
    api.post(URL, rec("a@x.io", loyalty=None))
    assert Profile.objects.get(pk=pid).attributes == {"n": 1}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "malformed_json"),
        ("", "empty_body"),
        ("   ", "empty_body"),
        ("[]", "empty_batch"),
        ("42", "invalid_body"),
        ('"text"', "invalid_body"),
        (b"\xff\xfe", "malformed_json"),
    ],
)
def test_bad_bodies_answer_400_in_the_error_format(api, raw, code):
    response = api.post(URL, raw=raw)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_more_than_a_thousand_records_is_refused_before_writing(api):
    response = api.post(URL, [rec(f"p{i}@x.io") for i in range(1001)])
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "too_many_records"
    assert error["fields"] == {"body": "has 1001 records; at most 1000"}
    assert not Profile.objects.exists()


def test_a_thousand_records_are_accepted(api):
    response = api.post(URL, [rec(f"p{i}@x.io", i=i) for i in range(1000)])
    assert response.status_code == 200
    assert response.json()["created"] == 1000


def test_an_oversized_body_answers_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post(URL, rec("a@x.io", blob="x" * 2000))
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert "1000 bytes" in error["message"]


def test_streaming_segmentation_runs_on_api_writes(api):
    segment = segment_create(
        name="Gold", rule={"path": "loyalty.tier", "op": "equals", "value": "gold"}, evaluate=False
    )
    pid = api.post(URL, rec("a@x.io", loyalty={"tier": "gold"})).json()["results"][0]["profileId"]
    document = api.get(f"{URL}/{pid}").json()
    assert document["segmentMembership"]["ups"][str(segment.pk)]["status"] == "realized"
    assert document["segmentMembership"]["ups"][str(segment.pk)]["lastQualificationTime"].endswith(
        "Z"
    )


def test_profiles_can_be_read_by_id_and_found_by_identity(api):
    pid = api.post(URL, rec("a@x.io", n=1)).json()["results"][0]["profileId"]
    found = api.get(f"{URL}?identity=email:A@X.io").json()["results"]
    assert [p["id"] for p in found] == [pid]
    assert found[0]["identityMap"] == {"email": [{"id": "a@x.io"}]}
    assert found[0]["attributes"] == {"n": 1}
    assert api.get(f"{URL}?identity=email:none@x.io").json() == {"results": []}
    bad = api.get(f"{URL}?identity=nonsense")
    assert bad.status_code == 400 and bad.json()["error"]["fields"] == {
        "identity": "use namespace:value"
    }
    unknown = api.get(f"{URL}?identity=fax:1")
    assert unknown.status_code == 400
    missing = api.get(f"{URL}?identity=")
    assert missing.status_code == 400


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", f"{URL}/999999", 404, "not_found"),
        ("get", "/api/v1/nowhere", 404, "not_found"),
        ("post", "/api/v1/nowhere/deeper", 404, "not_found"),
        ("delete", URL, 405, "method_not_allowed"),
        ("get", f"{URL}/abc", 400, "invalid_input"),
        ("get", URL, 400, "invalid_input"),
    ],
)
def test_every_error_has_the_one_format(api, method, path, status, code):
    response = getattr(api, method)(path)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code


def test_an_unexpected_error_is_a_json_500_not_an_html_page(api, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("profiles.api.profiles_upsert", explode)
    response = api.post(URL, rec("a@x.io"))
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "boom" not in response.content.decode()


def test_a_batch_is_parsed_and_written_with_the_cyclic_collector_paused(api, monkeypatch):
    # Full collections triggered by a batch's allocations cost more than its SQL.
    from profiles import api as profiles_api
    from profiles import bulk

    collecting: list[bool] = []

    def spy(original: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            collecting.append(gc.isenabled())
            return original(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(profiles_api, "parse_json", spy(profiles_api.parse_json))
    monkeypatch.setattr(bulk, "changes_insert", spy(bulk.changes_insert))
    assert api.post(URL, [rec("a@x.io", n=1)]).status_code == 200
    assert collecting == [False, False]
    assert gc.isenabled()
