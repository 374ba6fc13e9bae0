"""Glue classifier API over HTTP against a real local cloud: CRUD, versions and AWS's errors."""

from __future__ import annotations

import time

import pytest


@pytest.fixture(scope="module")
def glue(aws):  # noqa: ANN001, ANN201
    return aws("glue")


@pytest.fixture(autouse=True)
def no_leftovers(glue) -> None:  # noqa: ANN001
    """The tests use fixed names; whatever one leaves behind (say, by failing half-way) is removed after it."""
    yield
    for crawler in glue.get_crawlers()["Crawlers"]:
        glue.delete_crawler(Name=crawler["Name"])
    for classifier in glue.get_classifiers()["Classifiers"]:
        glue.delete_classifier(Name=next(iter(classifier.values()))["Name"])


def test_json_classifier_create_get_update_delete(glue) -> None:
    glue.create_classifier(JsonClassifier={"Name": "read_json", "JsonPath": "$"})
    got = glue.get_classifier(Name="read_json")["Classifier"]["JsonClassifier"]
    assert got["Name"] == "read_json"
    assert got["JsonPath"] == "$"
    assert got["Version"] == 1
    assert got["CreationTime"] == got["LastUpdated"]

    time.sleep(0.01)  # LastUpdated must move forward, so make time pass measurably
    glue.update_classifier(JsonClassifier={"Name": "read_json", "JsonPath": "$[*]"})
    updated = glue.get_classifier(Name="read_json")["Classifier"]["JsonClassifier"]
    assert updated["JsonPath"] == "$[*]"
    assert updated["Version"] == 2
    assert updated["CreationTime"] == got["CreationTime"]
    assert updated["LastUpdated"] > got["LastUpdated"]

    names = [c["JsonClassifier"]["Name"] for c in glue.get_classifiers()["Classifiers"] if "JsonClassifier" in c]
    assert "read_json" in names

    glue.delete_classifier(Name="read_json")
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_classifier(Name="read_json")


def test_duplicate_name_is_already_exists(glue) -> None:
    glue.create_classifier(JsonClassifier={"Name": "dup", "JsonPath": "$"})
    with pytest.raises(glue.exceptions.AlreadyExistsException, match="dup"):
        glue.create_classifier(JsonClassifier={"Name": "dup", "JsonPath": "$.a"})
    assert glue.get_classifier(Name="dup")["Classifier"]["JsonClassifier"]["JsonPath"] == "$"
    glue.delete_classifier(Name="dup")


@pytest.mark.parametrize("path", ["$", "$[*]", "$.a.b", "$['a b'].c", "$.records[*]", "$[0]", "$.*"])
def test_supported_json_paths_are_accepted(glue, path: str) -> None:
    glue.create_classifier(JsonClassifier={"Name": "ok_path", "JsonPath": path})
    assert glue.get_classifier(Name="ok_path")["Classifier"]["JsonClassifier"]["JsonPath"] == path
    glue.delete_classifier(Name="ok_path")


@pytest.mark.parametrize("path", ["a.b", "$..a", "$[1:3]", "$[0,1]", "$.a,b", "$[", "$.a[?(@.b)]", ""])
def test_invalid_json_path_is_invalid_input(glue, path: str) -> None:
    with pytest.raises(glue.exceptions.InvalidInputException):
        glue.create_classifier(JsonClassifier={"Name": "bad_path", "JsonPath": path})
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_classifier(Name="bad_path")


def test_update_with_invalid_path_keeps_the_old_one(glue) -> None:
    glue.create_classifier(JsonClassifier={"Name": "keep", "JsonPath": "$"})
    with pytest.raises(glue.exceptions.InvalidInputException):
        glue.update_classifier(JsonClassifier={"Name": "keep", "JsonPath": "$..x"})
    got = glue.get_classifier(Name="keep")["Classifier"]["JsonClassifier"]
    assert (got["JsonPath"], got["Version"]) == ("$", 1)
    glue.delete_classifier(Name="keep")


def test_missing_classifiers_are_entity_not_found(glue) -> None:
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.update_classifier(JsonClassifier={"Name": "ghost", "JsonPath": "$"})
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.delete_classifier(Name="ghost")


def test_two_kinds_at_once_is_invalid_input(glue) -> None:
    with pytest.raises(glue.exceptions.InvalidInputException):
        glue.create_classifier(
            JsonClassifier={"Name": "two", "JsonPath": "$"},
            XMLClassifier={"Name": "two", "Classification": "xml", "RowTag": "row"},
        )


def test_other_kinds_round_trip_and_page(glue) -> None:
    glue.create_classifier(GrokClassifier={"Name": "g1", "Classification": "logs", "GrokPattern": "%{WORD:w}"})
    glue.create_classifier(XMLClassifier={"Name": "x1", "Classification": "xml", "RowTag": "row"})
    glue.create_classifier(CsvClassifier={"Name": "c1", "Delimiter": ";", "ContainsHeader": "PRESENT"})
    assert glue.get_classifier(Name="g1")["Classifier"]["GrokClassifier"]["GrokPattern"] == "%{WORD:w}"
    assert glue.get_classifier(Name="x1")["Classifier"]["XMLClassifier"]["RowTag"] == "row"
    assert glue.get_classifier(Name="c1")["Classifier"]["CsvClassifier"]["Delimiter"] == ";"
    with pytest.raises(glue.exceptions.InvalidInputException):
        glue.update_classifier(JsonClassifier={"Name": "g1", "JsonPath": "$"})

    first = glue.get_classifiers(MaxResults=2)
    assert len(first["Classifiers"]) == 2 and first["NextToken"]
    rest = glue.get_classifiers(MaxResults=2, NextToken=first["NextToken"])
    seen = [next(iter(c.values()))["Name"] for c in first["Classifiers"] + rest["Classifiers"]]
    assert sorted(seen) == ["c1", "g1", "x1"]
    for name in ("g1", "x1", "c1"):
        glue.delete_classifier(Name=name)


def test_moto_crawler_keeps_its_classifiers(glue) -> None:
    """CreateCrawler is moto's; the crawler must remember which classifiers it uses."""
    glue.create_classifier(JsonClassifier={"Name": "cls", "JsonPath": "$"})
    glue.create_crawler(
        Name="c", Role="arn:aws:iam::123456789012:role/r", DatabaseName="db",
        Targets={"S3Targets": [{"Path": "s3://b/orders/"}]}, Classifiers=["cls"],
    )
    assert glue.get_crawler(Name="c")["Crawler"]["Classifiers"] == ["cls"]
    glue.delete_crawler(Name="c")
    glue.delete_classifier(Name="cls")
