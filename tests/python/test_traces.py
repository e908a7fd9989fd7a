"""MLflow 3 tracing through the real client: @mlflow.trace and start_span
export a trace (its info to ciel, its spans as an artifact through the
proxy), then get_trace, search_traces (filters, order, paging, run
scoping), trace tags and delete_traces read and change it."""

import time

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


@mlflow.trace
def predict(question: str) -> str:
    with mlflow.start_span(name="retrieve") as span:
        span.set_inputs({"query": question})
        docs = ["ciel serves MLflow", "per workspace"]
        span.set_outputs({"docs": docs})
    with mlflow.start_span(name="generate", span_type="LLM") as span:
        span.set_inputs({"docs": docs})
        answer = " and ".join(docs)
        span.set_outputs(answer)
        span.set_attribute("model", "tiny")
    return answer


@mlflow.trace(name="failing")
def fail():
    raise ValueError("boom")


def traced(question: str) -> str:
    """Runs predict and returns its trace ID once the trace is exported."""
    predict(question)
    trace_id = mlflow.get_last_active_trace_id()
    mlflow.flush_trace_async_logging()
    return trace_id


def test_trace_round_trip(tracking_uri):
    exp_id = mlflow.set_experiment("traces").experiment_id
    trace_id = traced("what is ciel?")

    trace = mlflow.get_trace(trace_id)
    assert trace is not None, "trace not found"
    info = trace.info
    assert info.trace_id == trace_id
    assert info.experiment_id == exp_id
    assert info.state.value == "OK"
    assert info.execution_duration is not None and info.execution_duration >= 0
    assert abs(info.request_time - time.time() * 1000) < 120_000
    assert info.tags["mlflow.traceName"] == "predict"
    assert info.tags["mlflow.artifactLocation"].endswith(f"/traces/{trace_id}/artifacts")
    assert info.trace_metadata["mlflow.traceInputs"] == '{"question": "what is ciel?"}'
    assert "what is ciel?" in info.request_preview

    spans = {s.name: s for s in trace.data.spans}
    assert set(spans) == {"predict", "retrieve", "generate"}
    root = spans["predict"]
    assert root.parent_id is None
    assert root.inputs == {"question": "what is ciel?"}
    assert root.outputs == "ciel serves MLflow and per workspace"
    assert spans["retrieve"].parent_id == root.span_id
    assert spans["retrieve"].inputs == {"query": "what is ciel?"}
    assert spans["retrieve"].outputs == {"docs": ["ciel serves MLflow", "per workspace"]}
    assert spans["generate"].span_type == "LLM"
    assert spans["generate"].attributes["model"] == "tiny"


def test_failed_trace_has_error_state(tracking_uri):
    mlflow.set_experiment("errors")
    with pytest.raises(ValueError):
        fail()
    trace_id = mlflow.get_last_active_trace_id()
    mlflow.flush_trace_async_logging()
    trace = mlflow.get_trace(trace_id)
    assert trace.info.state.value == "ERROR"
    [found] = mlflow.search_traces(filter_string="trace.status = 'ERROR'", return_type="list")
    assert found.info.trace_id == trace_id


def test_search_filters_order_and_paging(tracking_uri):
    client = MlflowClient()
    exp_id = mlflow.set_experiment("search").experiment_id
    ids = [traced(f"q{i}") for i in range(5)]
    client.set_trace_tag(ids[1], "env", "prod")
    client.set_trace_tag(ids[3], "env", "dev")

    df = mlflow.search_traces(locations=[exp_id])
    assert len(df) == 5 and set(df["trace_id"]) == set(ids)

    got = mlflow.search_traces(filter_string="tags.env = 'prod'", return_type="list")
    assert [t.info.trace_id for t in got] == [ids[1]]
    assert got[0].data.spans, "search_traces returns spans"
    got = mlflow.search_traces(filter_string="tags.env LIKE 'd%'", return_type="list", include_spans=False)
    assert [t.info.trace_id for t in got] == [ids[3]]
    got = mlflow.search_traces(filter_string="name = 'predict' AND tags.env IS NULL", return_type="list")
    assert {t.info.trace_id for t in got} == {ids[0], ids[2], ids[4]}
    got = mlflow.search_traces(filter_string="metadata.`mlflow.traceInputs` = '{\"question\": \"q4\"}'",
                               return_type="list")
    assert [t.info.trace_id for t in got] == [ids[4]]
    start = mlflow.get_trace(ids[2]).info.request_time
    got = mlflow.search_traces(filter_string=f"timestamp_ms >= {start} AND execution_time_ms >= 0",
                               order_by=["timestamp_ms ASC"], return_type="list")
    assert [t.info.trace_id for t in got] == ids[2:]

    newest_first = [t.info.trace_id for t in mlflow.search_traces(return_type="list")]
    assert newest_first == ids[::-1]
    page = client.search_traces(locations=[exp_id], max_results=2, order_by=["timestamp_ms ASC"])
    assert [t.info.trace_id for t in page] == ids[:2] and page.token
    page = client.search_traces(locations=[exp_id], max_results=3, page_token=page.token,
                                order_by=["timestamp_ms ASC"])
    assert [t.info.trace_id for t in page] == ids[2:] and not page.token

    for bad in ["span.name = 'x'", "tags.env RLIKE 'p.*'", "attributes.nope = 'x'"]:
        with pytest.raises(MlflowException) as e:
            mlflow.search_traces(filter_string=bad)
        assert e.value.error_code == "INVALID_PARAMETER_VALUE", bad


def test_trace_tags(tracking_uri):
    client = MlflowClient()
    mlflow.set_experiment("tags")
    trace_id = traced("tag me")
    client.set_trace_tag(trace_id, "reviewed", "yes")
    assert client.get_trace(trace_id).info.tags["reviewed"] == "yes"
    client.delete_trace_tag(trace_id, "reviewed")
    assert "reviewed" not in client.get_trace(trace_id).info.tags
    with pytest.raises(MlflowException) as e:
        client.delete_trace_tag(trace_id, "reviewed")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    # The client refuses this itself; the server does too, for other clients.
    with pytest.raises(MlflowException) as e:
        client._tracing_client.store.set_trace_tag(trace_id, "mlflow.artifactLocation", "elsewhere")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        client.set_trace_tag("tr-" + "0" * 32, "k", "v")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_unknown_trace(tracking_uri):
    client = MlflowClient()
    with pytest.raises(MlflowException) as e:
        client._tracing_client.store.get_trace_info("tr-" + "0" * 32)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert mlflow.get_trace("tr-" + "0" * 32, silent=True) is None


def test_delete_traces(tracking_uri):
    client = MlflowClient()
    exp_id = mlflow.set_experiment("delete").experiment_id
    ids = [traced(f"d{i}") for i in range(4)]
    assert client.delete_traces(exp_id, trace_ids=[ids[0]]) == 1
    assert mlflow.get_trace(ids[0], silent=True) is None
    newest = mlflow.get_trace(ids[3]).info.request_time
    assert client.delete_traces(exp_id, max_timestamp_millis=newest, max_traces=2) == 2
    remaining = [t.info.trace_id for t in mlflow.search_traces(return_type="list")]
    assert remaining == [ids[3]]
    assert client.delete_traces(exp_id, max_timestamp_millis=newest) == 1
    assert mlflow.search_traces(return_type="list") == []
    with pytest.raises(MlflowException) as e:
        client.delete_traces(exp_id)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_trace_in_run_is_linked(tracking_uri):
    client = MlflowClient()
    mlflow.set_experiment("runs")
    with mlflow.start_run() as run:
        in_run = traced("inside")
    outside = traced("outside")
    assert mlflow.get_trace(in_run).info.trace_metadata["mlflow.sourceRun"] == run.info.run_id

    got = mlflow.search_traces(run_id=run.info.run_id, return_type="list")
    assert [t.info.trace_id for t in got] == [in_run]
    got = mlflow.search_traces(filter_string=f"metadata.mlflow.sourceRun = '{run.info.run_id}'",
                               return_type="list")
    assert [t.info.trace_id for t in got] == [in_run]

    # A trace made elsewhere joins the run when linked to it.
    client._tracing_client.store.link_traces_to_run([outside], run.info.run_id)
    got = mlflow.search_traces(run_id=run.info.run_id, return_type="list")
    assert {t.info.trace_id for t in got} == {in_run, outside}


def test_workspaces_stay_apart(ciel, tracking_uri):
    mlflow.set_experiment("mine")
    trace_id = traced("private")
    assert mlflow.get_trace(trace_id) is not None

    mlflow.set_tracking_uri(ciel.workspace())
    mlflow.tracking.fluent._active_experiment_id = None
    mlflow.set_experiment("mine")
    assert mlflow.get_trace(trace_id, silent=True) is None
    assert mlflow.search_traces(return_type="list") == []
    with pytest.raises(MlflowException) as e:
        MlflowClient().set_trace_tag(trace_id, "k", "v")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
