import re

import pytest

from pytest_lambda_image._runtime.tracing import new_trace_id, normalize_trace_id, trace_root
from pytest_lambda_image.errors import InvokeError

VALID = re.compile(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0\Z")


def test_a_new_trace_id_has_lambdas_shape_and_the_time_in_its_root():
    trace = new_trace_id(now=0x5759E988)
    assert VALID.match(trace)
    assert trace.startswith("Root=1-5759e988-")


def test_new_trace_ids_differ():
    assert len({new_trace_id() for _ in range(100)}) == 100


def test_a_full_header_is_kept_as_given():
    given = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    assert normalize_trace_id(given) == given


def test_a_header_may_carry_lineage_and_omit_the_parent():
    given = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0;Lineage=a87bd80c:0"
    assert normalize_trace_id(given) == given


def test_a_bare_root_gets_a_parent_and_sampled_0():
    trace = normalize_trace_id("1-5759E988-BD862E3FE1BE46A994272793")
    assert VALID.match(trace)
    assert trace_root(trace) == "1-5759e988-bd862e3fe1be46a994272793"


@pytest.mark.parametrize(
    "bad, why",
    [
        ("abc", "is not KEY=VALUE"),
        ("Sampled=0", "Root must be"),
        ("Root=1-5759e988-short;Sampled=0", "Root must be"),
        ("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=xyz", "Parent must be"),
        ("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=yes", "Sampled must be"),
        ("Root=1-5759e988-bd862e3fe1be46a994272793;junk", "is not KEY=VALUE"),
    ],
)
def test_a_malformed_trace_id_fails_with_one_line_naming_the_fault(bad, why):
    with pytest.raises(InvokeError, match=why) as info:
        normalize_trace_id(bad)
    assert "\n" not in str(info.value)


def test_a_trace_id_that_is_not_a_string_is_refused():
    with pytest.raises(InvokeError, match="must be a string"):
        normalize_trace_id(123)  # type: ignore[arg-type]
