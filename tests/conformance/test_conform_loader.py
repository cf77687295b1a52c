"""Loading vector files: validation errors name the file and the JSON path; filters; shards."""

from __future__ import annotations

import copy
import json

import pytest

from conform_support import ALL_IDS, BASIC, BASIC_IDS, MORE, MORE_IDS
from marginspec.conformance.loader import (
    VectorFileError, default_vector_paths, load_vector_file, load_vectors, parse_shard, select_cases,
    shard_cases, shard_of,
)


def basic_doc() -> dict:
    return json.loads(BASIC.read_text())


def write(tmp_path, doc, name=None):
    path = tmp_path / f"{name or doc.get('file', 'x')}.json"
    path.write_text(json.dumps(doc))
    return path


def test_fixture_files_load(cases):
    assert [c.id for c in cases] == ALL_IDS
    first = cases[0]
    assert first.file == "basic" and first.level == "MUST" and first.source == "known_answer"
    assert first.ops == {"set_mark_price", "open_position", "query"}
    assert first.available_balance == "10000" and "BTCUSDT" in first.contracts
    assert first.steps[0].tail == '"op":"set_mark_price","args":{"symbol":"BTCUSDT","price":"50000"}}\n'
    assert first.reset_tail.startswith('"op":"reset","args":{"contracts":{"BTCUSDT"')
    # a step expecting UNSUPPORTED does not make its op a requirement
    unk = next(c for c in cases if c.id == "unk-a53e5cef")
    assert unk.ops == {"query"}
    assert [c.order for c in cases] == list(range(len(cases)))


def test_directory_and_duplicate_paths(tmp_path):
    files = load_vectors([BASIC.parent, BASIC])  # the folder holds basic.json and more.json
    assert [vf.file for vf in files] == ["basic", "more"]


def test_packaged_default_paths_are_a_list():
    paths = default_vector_paths()
    assert all(str(p).endswith(".json") for p in paths)


@pytest.mark.parametrize("edit,json_path,words", [
    (lambda d: d["groups"][0]["cases"][1]["steps"][2]["expect"].update(error="NOT_A_CODE"),
     "$.groups[0].cases[1].steps[2].expect.error", "NOT_A_CODE"),
    (lambda d: d["groups"][0]["cases"][0]["steps"][0]["request"]["args"].update(price=50000),
     "$.groups[0].cases[0].steps[0].request.args.price", "50000"),
    (lambda d: d["groups"][0]["cases"][2].update(level="MAY"), "$.groups[0].cases[2].level", "MAY"),
    (lambda d: d["groups"][0]["cases"][0].pop("rules"), "$.groups[0].cases[0]", "rules"),
    (lambda d: d["groups"][0]["cases"][0]["steps"][2]["expect"]["result"]["position"].update(size=100),
     "$.groups[0].cases[0].steps[2].expect.result.position.size", "100"),
    (lambda d: d["groups"][0].update(available_balance="1e4"), "$.groups[0].available_balance", "1e4"),
    (lambda d: d.update(schema="marginspec-vectors/2"), "$.schema", "marginspec-vectors/1"),
])
def test_schema_errors_name_file_and_json_path(tmp_path, edit, json_path, words):
    doc = basic_doc()
    edit(doc)
    path = write(tmp_path, doc)
    with pytest.raises(VectorFileError) as info:
        load_vector_file(path)
    err = info.value
    assert err.path == str(path)
    assert err.json_path == json_path
    assert str(path) in str(err) and json_path in str(err) and words in str(err)


def test_a_successful_step_must_send_a_wellformed_request(tmp_path):
    doc = basic_doc()
    doc["groups"][0]["cases"][0]["steps"][1]["request"]["args"]["side"] = "up"
    with pytest.raises(VectorFileError) as info:
        load_vector_file(write(tmp_path, doc))
    assert info.value.json_path.startswith("$.groups[0].cases[0].steps[1]")


def test_a_refused_step_may_send_anything(tmp_path):
    doc = basic_doc()
    doc["groups"][0]["cases"][1]["steps"][2]["request"]["args"]["amount"] = {"weird": [1, None, True]}
    load_vector_file(write(tmp_path, doc))  # INVALID_ARGUMENT-style requests are allowed


def test_semantic_checks(tmp_path):
    doc = basic_doc()
    doc["number_of_cases"] = 5
    with pytest.raises(VectorFileError, match=r"number_of_cases is 5 but the file has 4 cases"):
        load_vector_file(write(tmp_path, doc))
    doc = basic_doc()
    doc["groups"][0]["cases"][1]["id"] = doc["groups"][0]["cases"][0]["id"]
    with pytest.raises(VectorFileError, match="duplicate case id") as info:
        load_vector_file(write(tmp_path, doc))
    assert info.value.json_path == "$.groups[0].cases[1].id"
    doc = basic_doc()
    doc["groups"][0]["cases"][0]["flags"] = ["Undeclared"]
    with pytest.raises(VectorFileError, match="not in the file's flag table") as info:
        load_vector_file(write(tmp_path, doc))
    assert info.value.json_path == "$.groups[0].cases[0].flags[0]"
    doc = basic_doc()
    doc["flags"]["Unused"] = {"meaning": "m", "if_wrong": "w"}
    with pytest.raises(VectorFileError, match="used by no case: Unused"):
        load_vector_file(write(tmp_path, doc))
    with pytest.raises(VectorFileError, match="named 'other'"):
        load_vector_file(write(tmp_path, basic_doc(), name="other"))


def test_case_ids_unique_over_files(tmp_path):
    doc = json.loads(MORE.read_text())
    doc["groups"][0]["cases"][0]["id"] = BASIC_IDS[0]
    with pytest.raises(VectorFileError, match=f"{BASIC_IDS[0]}.*also used in"):
        load_vectors([BASIC, write(tmp_path, doc)])


def test_not_json_and_not_found(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "marginspec-vectors/1",\n  "x": }')
    with pytest.raises(VectorFileError, match=r"bad.json: line 2 column 8"):
        load_vector_file(bad)
    dup = tmp_path / "dup.json"
    dup.write_text('{"a": 1, "a": 2}')
    with pytest.raises(VectorFileError, match="duplicate key 'a'"):
        load_vector_file(dup)
    nan = tmp_path / "nan.json"
    nan.write_text('{"a": NaN}')
    with pytest.raises(VectorFileError, match="NaN"):
        load_vector_file(nan)
    with pytest.raises(VectorFileError, match="no such file"):
        load_vectors([tmp_path / "missing.json"])


def test_filters(cases):
    ids = lambda cs: [c.id for c in cs]  # noqa: E731
    assert ids(select_cases(cases)) == ALL_IDS
    assert ids(select_cases(cases, rule=["reduce_margin"])) == ["err-2cfdbfea"]
    assert ids(select_cases(cases, rule=["set_"])) == ["liq-b41d23f1", "mode-c0750b40"]  # prefix match
    assert ids(select_cases(cases, rule=["S19", "close"])) == ["mode-c0750b40", "close-efe742e0"]
    assert ids(select_cases(cases, flag=["PrematureLiquidation"])) == ["err-2cfdbfea", "liq-b41d23f1"]
    assert ids(select_cases(cases, flag=["Premature"])) == []  # flags match whole
    assert ids(select_cases(cases, case=["fund-2fb58b28"])) == ["fund-2fb58b28"]
    assert ids(select_cases(cases, case=["*-c*"])) == ["mode-c0750b40"]
    assert ids(select_cases(cases, case=["???-*"])) == ["err-2cfdbfea", "liq-b41d23f1", "unk-a53e5cef"]
    assert ids(select_cases(cases, case=["fund-*", "close-efe742e0"])) == ["fund-2fb58b28", "close-efe742e0"]
    # filters combine with "and"
    assert ids(select_cases(cases, flag=["PrematureLiquidation"], case=["liq-*"])) == ["liq-b41d23f1"]


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_shards_partition_the_cases(cases, n):
    many = []
    for i in range(40):  # more ids, so that every shard gets some
        c = copy.copy(cases[i % len(cases)])
        c.id = f"x-{i:04d}"
        many.append(c)
    parts = [shard_cases(many, f"{i}/{n}") for i in range(1, n + 1)]
    seen = [c.id for p in parts for c in p]
    assert sorted(seen) == sorted(c.id for c in many)  # union is everything, nothing twice
    assert len(seen) == len(set(seen))
    if n > 1:
        assert all(parts)
    # stable: independent of order and of the other cases
    assert [c.id for c in shard_cases(list(reversed(many)), f"1/{n}")] == [c.id for c in reversed(parts[0])]
    assert all(shard_of(c.id, n) == 1 for c in shard_cases(many[:7], f"1/{n}"))


@pytest.mark.parametrize("spec", ["0/3", "4/3", "1/0", "a/b", "3", "1-3", ""])
def test_bad_shard_specs(spec):
    with pytest.raises(ValueError, match="shard"):
        parse_shard(spec)


def test_shard_spec_parse():
    assert parse_shard("2/4") == (2, 4)
    assert parse_shard(" 1 / 1 ") == (1, 1)
    assert parse_shard(None) is None
    assert MORE_IDS  # (the fixture ids are used by other tests)
