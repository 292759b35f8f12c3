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
