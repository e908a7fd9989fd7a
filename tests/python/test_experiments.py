"""Experiments through the mlflow client: create, get, search, rename,
delete, restore, tags."""

import mlflow
import pytest
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException


def test_default_experiment_exists(client):
    exp = client.get_experiment("0")
    assert exp.name == "Default"
    assert exp.lifecycle_stage == "active"
    assert client.get_experiment_by_name("Default").experiment_id == "0"


def test_create_get_by_id_and_name(client):
    eid = client.create_experiment("exp-a", tags={"team": "vision", "owner": "ana"})
    exp = client.get_experiment(eid)
    assert exp.name == "exp-a"
    assert exp.tags == {"team": "vision", "owner": "ana"}
    assert exp.artifact_location.startswith("mlflow-artifacts:/")
    assert exp.creation_time > 0 and exp.last_update_time >= exp.creation_time
    assert client.get_experiment_by_name("exp-a").experiment_id == eid
    assert client.get_experiment_by_name("no-such-experiment") is None


def test_create_duplicate_and_empty_name(client):
    client.create_experiment("dup")
    with pytest.raises(MlflowException) as e:
        client.create_experiment("dup")
    assert e.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(MlflowException):
        client.create_experiment("")


def test_set_experiment_creates_and_reuses(tracking_uri):
    exp = mlflow.set_experiment("fluent-exp")
    again = mlflow.set_experiment("fluent-exp")
    assert exp.experiment_id == again.experiment_id
    assert mlflow.get_experiment_by_name("fluent-exp").experiment_id == exp.experiment_id


def test_rename_delete_restore(client):
    eid = client.create_experiment("old-name")
    client.rename_experiment(eid, "new-name")
    assert client.get_experiment(eid).name == "new-name"
    assert client.get_experiment_by_name("old-name") is None

    run = client.create_run(eid)
    client.delete_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "deleted"
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    assert eid not in [e.experiment_id for e in client.search_experiments()]
    assert eid in [e.experiment_id for e in client.search_experiments(view_type=ViewType.DELETED_ONLY)]
    with pytest.raises(MlflowException):
        client.create_run(eid)

    client.restore_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "active"
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "active"


def test_experiment_tags(client):
    eid = client.create_experiment("tagged")
    client.set_experiment_tag(eid, "stage", "dev")
    client.set_experiment_tag(eid, "stage", "prod")
    assert client.get_experiment(eid).tags["stage"] == "prod"
    client.delete_experiment_tag(eid, "stage")
    assert "stage" not in client.get_experiment(eid).tags


def test_search_filter_order_and_paging(client):
    for i in range(7):
        client.create_experiment(f"search-{i}", tags={"parity": "even" if i % 2 == 0 else "odd"})
    client.create_experiment("other")

    names = [e.name for e in client.search_experiments(filter_string="name LIKE 'search-%'", order_by=["name DESC"])]
    assert names == [f"search-{i}" for i in reversed(range(7))]

    odd = client.search_experiments(filter_string="tags.parity = 'odd'")
    assert sorted(e.name for e in odd) == ["search-1", "search-3", "search-5"]

    assert [e.name for e in client.search_experiments(filter_string="name ILIKE 'OTHER'")] == ["other"]

    page1 = client.search_experiments(max_results=3, filter_string="name LIKE 'search-%'", order_by=["name ASC"])
    assert [e.name for e in page1] == ["search-0", "search-1", "search-2"]
    assert page1.token
    page2 = client.search_experiments(max_results=3, filter_string="name LIKE 'search-%'", order_by=["name ASC"],
                                      page_token=page1.token)
    assert [e.name for e in page2] == ["search-3", "search-4", "search-5"]
    page3 = client.search_experiments(max_results=3, filter_string="name LIKE 'search-%'", order_by=["name ASC"],
                                      page_token=page2.token)
    assert [e.name for e in page3] == ["search-6"]
    assert not page3.token


def test_search_bad_filter_is_invalid_parameter(client):
    with pytest.raises(MlflowException) as e:
        client.search_experiments(filter_string="name = ")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        client.search_experiments(filter_string="metrics.x > 1")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_unknown_experiment_is_resource_does_not_exist(client):
    with pytest.raises(MlflowException) as e:
        client.get_experiment("987654")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.delete_experiment("987654")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
