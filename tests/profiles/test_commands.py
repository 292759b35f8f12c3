import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from profiles.demo import DEMO_SEGMENTS, demo_records
from profiles.models import Identity, Profile, ProfileChange, Segment, SegmentMembership

pytestmark = pytest.mark.django_db


def run(*args, **options):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_import_writes_good_lines_reports_bad_ones_and_is_safe_to_rerun(tmp_path):
    lines = [
        json.dumps({"identityMap": {"email": [{"id": "a@x.io"}]}, "attributes": {"n": 1}}),
        "{broken json",
        "",
        json.dumps({"identityMap": {"fax": [{"id": "1"}]}}),
        json.dumps({"identityMap": {"crmid": [{"id": "C2"}]}, "attributes": {"n": 2}}),
        json.dumps([1, 2]),
    ]
    path = write_lines(tmp_path / "people.ndjson", lines)
    errors = tmp_path / "errors.txt"
    out, err = run("import_profiles", path, "--batch-size", "2", "--errors", str(errors))
    assert "line 2: not valid JSON" in out
    assert "line 4: identityMap.fax: unknown identity namespace 'fax'" in out
    assert "line 6: A profile record must be a JSON object." in out
    assert "Imported 2 profiles (2 created, 0 updated); 3 bad lines skipped." in out
    assert errors.read_text().count("line ") == 3
    assert "100%" in err
    assert Profile.objects.count() == 2
    assert set(ProfileChange.objects.values_list("source", flat=True)) == {"import"}

    out, _ = run("import_profiles", path)
    assert "Imported 2 profiles (0 created, 2 updated)" in out
    assert Profile.objects.count() == 2
    assert Identity.objects.count() == 2


def test_import_refuses_a_missing_file_or_bad_batch_size(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run("import_profiles", str(tmp_path / "missing.ndjson"))
    path = write_lines(tmp_path / "a.ndjson", ["{}"])
    with pytest.raises(CommandError, match="batch-size"):
        run("import_profiles", path, "--batch-size", "5000")


def test_import_of_an_empty_file_imports_nothing(tmp_path):
    path = tmp_path / "empty.ndjson"
    path.write_text("")
    out, _ = run("import_profiles", str(path))
    assert "Imported 0 profiles" in out


def test_demo_data_is_realistic_and_reproducible():
    first = list(demo_records(30, seed=7))
    assert first == list(demo_records(30, seed=7))
    assert first != list(demo_records(30, seed=8))
    record = first[0]
    assert set(record["identityMap"]) == {"ecid", "email", "phone", "crmid"}
    attributes = record["attributes"]
    assert attributes["person"]["name"]["firstName"]
    assert attributes["person"]["name"]["lastName"]
    assert attributes["personalEmail"]["address"] == record["identityMap"]["email"][0]["id"]
    assert len(attributes["person"]["birthDate"]) == 10
    emails = [r["identityMap"]["email"][0]["id"] for r in first]
    assert len(set(emails)) == len(emails)


def test_generate_demo_data_creates_profiles_identities_segments_and_memberships():
    out, _ = run("generate_demo_data", profiles=400, segments=5, seed=42)
    assert "400 profiles" in out
    assert Profile.objects.count() == 400
    assert Identity.objects.count() == 1600
    segments = list(Segment.objects.all())
    assert sorted(s.name for s in segments) == sorted(n for n, _, _ in DEMO_SEGMENTS[:5])
    for segment in segments:
        members = SegmentMembership.objects.filter(segment=segment, status="realized").count()
        assert 0.1 < members / 400 < 0.6, f"{segment.name} matches {members} of 400"
        assert segment.evaluated_at is not None

    run("generate_demo_data", profiles=400, segments=5, seed=42)
    assert Profile.objects.count() == 400, "the same seed updates the same profiles"
    assert Segment.objects.count() == 5


def test_generate_demo_data_makes_more_segments_than_rules_with_distinct_names():
    run("generate_demo_data", profiles=10, segments=len(DEMO_SEGMENTS) + 2, seed=1)
    names = list(Segment.objects.values_list("name", flat=True))
    assert len(names) == len(set(names)) == len(DEMO_SEGMENTS) + 2


def test_generate_demo_data_rejects_negative_numbers():
    with pytest.raises(CommandError):
        run("generate_demo_data", profiles=-1)
