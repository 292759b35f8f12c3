"""API messages follow Accept-Language; codes, field names and JSON keys stay English."""

from django.conf import settings
from django.test import override_settings

from tests.api.test_dataflows import body, connection, create, segments  # noqa: F401

CATALOG = override_settings(LOCALE_PATHS=[settings.BASE_DIR / "locale"])


@CATALOG
def test_a_refusal_is_in_swedish_for_a_swedish_caller(api, connection, segments):  # noqa: F811
    path = f"/api/v1/dataflows/{create(api, connection, segments)['id']}"
    english = api.call("PATCH", path, {"name": "Renamed"})
    swedish = api.call("PATCH", path, {"name": "Renamed"}, **{"Accept-Language": "sv-SE,sv;q=0.9"})
    assert (swedish.status, swedish.error["code"]) == (english.status, english.error["code"])
    assert swedish.error["fields"].keys() == english.error["fields"].keys() == {"If-Match"}
    assert english.error["message"].startswith("Send If-Match with the ETag of the dataflow")
    assert swedish.error["message"].startswith("Skicka If-Match med ETag för dataflödet")


@CATALOG
def test_an_unknown_object_is_named_in_the_callers_language(api):
    english = api.get("/api/v1/dataflows/999999")
    swedish = api.get("/api/v1/dataflows/999999", **{"Accept-Language": "sv"})
    assert (english.status, english.error) == (
        404,
        {"code": "not_found", "message": "There is no dataflow 999999.", "fields": {}},
    )
    assert swedish.error == {
        "code": "not_found",
        "message": "Det finns inget dataflöde 999999.",
        "fields": {},
    }


@CATALOG
def test_an_unsupported_language_falls_back_to_english(api):
    answer = api.get("/api/v1/dataflows/999999", **{"Accept-Language": "ja"})
    assert answer.error["message"] == "There is no dataflow 999999."
