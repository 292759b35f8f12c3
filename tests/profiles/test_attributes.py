from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from profiles.attributes import leaf_paths, merge, paths_overlap, same_json, validate_document


def test_it_merges_objects_and_records_written_and_changed_paths():
    current = {"person": {"name": {"firstName": "Ann", "lastName": "Lee"}}, "loyalty": 10}
    result = merge(current, {"person": {"name": {"firstName": "Ann", "lastName": "Smith"}}})
    assert result.document == {
        "person": {"name": {"firstName": "Ann", "lastName": "Smith"}},
        "loyalty": 10,
    }
    assert result.written == ["person.name.firstName", "person.name.lastName"]
    assert result.changed == ["person.name.lastName"]
    assert current["person"]["name"]["lastName"] == "Lee", "the input is not mutated"


def test_an_explicit_null_removes_the_attribute_and_prunes_empty_objects():
    current = {"person": {"name": {"firstName": "Ann"}}, "loyalty": 10}
    result = merge(current, {"person": {"name": {"firstName": None}}})
    assert result.document == {"loyalty": 10}
    assert result.written == ["person.name.firstName"]
    assert result.changed == ["person.name.firstName"]


def test_removing_an_object_reports_every_leaf_it_held():
    result = merge({"person": {"name": {"firstName": "A", "lastName": "B"}}}, {"person": None})
    assert result.document == {}
    assert result.written == ["person"]
    assert result.changed == ["person.name.firstName", "person.name.lastName"]


def test_removing_something_absent_is_a_write_without_change():
    result = merge({"a": 1}, {"b": None})
    assert result.document == {"a": 1}
    assert result.written == ["b"]
    assert result.changed == []


def test_arrays_and_scalars_replace_whole_values():
    result = merge({"tags": ["a", "b"], "score": 1}, {"tags": ["c"], "score": 1.0})
    assert result.document == {"tags": ["c"], "score": 1.0}
    assert result.changed == ["tags"]


def test_an_object_replaces_a_scalar_and_a_scalar_an_object():
    result = merge({"a": "x", "b": {"c": 1}}, {"a": {"d": 2}, "b": 5})
    assert result.document == {"a": {"d": 2}, "b": 5}
    assert sorted(result.changed) == ["a", "a.d", "b", "b.c"]


def test_nulls_under_a_scalar_leave_the_scalar_alone():
    result = merge({"a": "x"}, {"a": {"b": None}})
    assert result.document == {"a": "x"}
    assert result.changed == []


def test_a_new_profile_gets_the_patch_without_nulls_and_empty_objects():
    patch = {"a": {"b": None, "c": {}, "d": {"e": None}}, "f": [], "g": {"h": 0}, "i": None}
    result = merge({}, patch)
    assert result.document == {"f": [], "g": {"h": 0}}
    assert result.written == ["a.b", "a.d.e", "f", "g.h", "i"]
    assert result.changed == ["f", "g.h"]


def _written_to_nothing(patch: dict, prefix: str = "") -> tuple[dict, list[str], list[str]]:
    """The rules of the module docstring, applied where nothing is stored."""
    document: dict = {}
    written: list[str] = []
    changed: list[str] = []
    for key, value in patch.items():
        if isinstance(value, dict):
            child, w, c = _written_to_nothing(value, f"{prefix}{key}.")
            document.update({key: child} if child else {})
            written += w
            changed += c
        else:
            written.append(f"{prefix}{key}")
            if value is not None:
                changed.append(f"{prefix}{key}")
                document[key] = value
    return document, written, changed


_patches = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3) | st.lists(st.integers()),
    lambda children: st.dictionaries(st.sampled_from("abc"), children, max_size=3),
    max_leaves=12,
).filter(lambda value: isinstance(value, dict))


@given(_patches)
def test_a_write_where_nothing_is_stored_follows_the_merge_rules(patch: Any):
    # Into a new profile, and as new objects beside a stored key the patch never names.
    document, written, changed = _written_to_nothing(patch)
    fresh = merge({}, patch)
    beside = merge({"stored": 1}, patch)
    assert (fresh.document, fresh.written, fresh.changed) == (document, written, changed)
    assert (beside.document, beside.written, beside.changed) == (
        {"stored": 1, **document},
        written,
        changed,
    )


def test_json_equality_treats_booleans_apart_from_numbers():
    assert same_json(1, 1.0)
    assert not same_json(True, 1)
    assert not same_json("1", 1)
    assert same_json({"a": [1, {"b": True}]}, {"a": [1.0, {"b": True}]})


def test_leaf_paths_and_overlap():
    assert leaf_paths({"a": {"b": 1, "c": []}, "d": "x"}) == ["a.b", "a.c", "d"]
    assert paths_overlap("person.name", "person.name.firstName")
    assert paths_overlap("person.name.firstName", "person.name")
    assert not paths_overlap("person.name", "person.nameSuffix")


def test_it_rejects_keys_that_would_break_dotted_paths():
    errors = validate_document({"person": {"first.name": "A", "ok": {"": 1}}})
    assert set(errors) == {"attributes.person.first.name", "attributes.person.ok."}
    assert validate_document([1]) == {"attributes": "must be a JSON object"}
