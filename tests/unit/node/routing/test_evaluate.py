from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from node.routing import Phase, Priority, StudyFacts, default_decision, evaluate_rules, parse_rules


@dataclass
class Destination:
    name: str
    results: bool


DESTINATIONS = [Destination("pacs", True), Destination("archive", False), Destination("ris", True)]

RULES = parse_rules(
    [
        {
            "name": "spine-mr",
            "when": {
                "attributes": [{"keyword": "Modality", "equals": "MR"}],
                "series": [{"sequence": "SSFP", "plane": "axial"}],
            },
            "then": {
                "pipelines": ["criteria", "inventory"],
                "forward_to": ["archive"],
                "results_to": ["pacs"],
                "priority": "routine",
                "notify": ["log"],
            },
        },
        {
            "name": "leak-stat",
            "when": {"results": {"grades": [{"grade": "csf_leak", "at_least": "DEFINITE"}]}},
            "then": {"priority": "stat", "results_to": ["ris"], "pipelines": ["cord"], "notify": ["log"]},
        },
        {
            "name": "from-ct",
            "when": {"calling_aet": "CT1"},
            "then": {"pipelines": ["marrow_adc"], "priority": "low", "stop": True},
        },
        {"name": "catch-all", "then": {"pipelines": ["inventory"], "results_to": ["pacs"]}},
    ]
)

SERIES = {"series_uid": "1.2", "description": "Ax FIESTA", "plane": "axial", "sequence": "SSFP"}


def facts(**kwargs: Any) -> StudyFacts:
    base: dict[str, Any] = {"attributes": {"Modality": "MR"}, "calling_aet": "MRI1", "inventory": [SERIES]}
    base.update(kwargs)
    return StudyFacts(**base)


def test_arrival_merges_matched_rules_and_defers_result_rules() -> None:
    decision = evaluate_rules(RULES, facts())
    assert decision.phase is Phase.ARRIVAL
    assert decision.matched == ["spine-mr", "catch-all"]
    assert decision.deferred == ["leak-stat"]
    assert decision.pipelines == ["inventory", "criteria"]  # canonical order, no duplicates
    assert decision.forward_to == ["archive"]
    assert decision.results_to == ["pacs"]
    assert decision.priority is Priority.ROUTINE
    assert decision.notify == ["log"]
    outcome = {o.name: o for o in decision.outcomes}
    assert outcome["from-ct"].status == "not matched"
    assert any("calling AE 'MRI1' does not match" in r for r in outcome["from-ct"].reasons)
    assert outcome["catch-all"].reasons == ["no conditions: matches every study"]


def test_results_phase_adds_result_rules_and_keeps_results_destinations() -> None:
    decision = evaluate_rules(RULES, facts(results={"csf_leak": {"grade": "CONFIRMED"}}))
    assert decision.phase is Phase.RESULTS
    assert decision.matched == ["spine-mr", "leak-stat", "catch-all"]
    assert decision.results_to == ["pacs", "ris"]
    assert decision.priority is Priority.STAT  # the most urgent wins
    # arrival-time actions are not repeated; only the result rule's pipelines and notifications
    assert decision.pipelines == ["cord"]
    assert decision.forward_to == []
    assert decision.notify == ["log"]


def test_results_phase_without_a_high_grade() -> None:
    decision = evaluate_rules(RULES, facts(results={"csf_leak": {"grade": "SUSPECTED"}}))
    assert "leak-stat" not in decision.matched
    assert decision.priority is Priority.ROUTINE
    assert decision.results_to == ["pacs"]
    assert decision.pipelines == []


def test_stop_ends_evaluation() -> None:
    decision = evaluate_rules(RULES, facts(calling_aet="CT1", attributes={"Modality": "CT"}, inventory=[]))
    assert decision.matched == ["from-ct"]
    assert decision.pipelines == ["marrow_adc"]
    assert decision.priority is Priority.LOW
    last = decision.outcomes[-1]
    assert last.name == "catch-all" and last.status == "not evaluated"
    assert last.reasons == ["stopped by 'from-ct'"]
    assert decision.outcomes[-2].stopped


def test_deferred_rule_whose_other_conditions_fail_is_not_matched() -> None:
    rules = parse_rules(
        [
            {
                "name": "mr-leak",
                "when": {
                    "attributes": [{"keyword": "Modality", "equals": "MR"}],
                    "results": {"flags": ["leak"]},
                },
                "then": {"priority": "urgent"},
            }
        ]
    )
    decision = evaluate_rules(rules, facts(attributes={"Modality": "CT"}))
    assert decision.outcomes[0].status == "not matched"
    decision = evaluate_rules(rules, facts())
    assert decision.outcomes[0].status == "deferred"
    assert decision.outcomes[0].reasons[-1] == "waits for results"
    after = evaluate_rules(rules, facts(flags=["CSF leak DEFINITE"]))
    assert after.phase is Phase.RESULTS and after.priority is Priority.URGENT


def test_explicit_phase() -> None:
    arrival = evaluate_rules(RULES, facts(results={"csf_leak": {"grade": "DEFINITE"}}), phase=Phase.ARRIVAL)
    assert arrival.deferred == ["leak-stat"]
    with pytest.raises(ValueError, match="phase 'results' needs facts with results"):
        evaluate_rules(RULES, facts(), phase=Phase.RESULTS)


def test_no_rules_gives_the_default() -> None:
    decision = evaluate_rules([], facts(), destinations=DESTINATIONS)
    assert decision.default
    assert decision.pipelines == ["inventory", "criteria", "marrow_adc", "cord"]
    assert decision.results_to == ["pacs", "ris"]  # destinations with results enabled
    assert decision.forward_to == []
    after = evaluate_rules([], facts(flags=[]), destinations=DESTINATIONS)
    assert after.phase is Phase.RESULTS and after.pipelines == [] and after.results_to == ["pacs", "ris"]
    assert default_decision(Phase.ARRIVAL).results_to == []


def test_decision_json_and_description() -> None:
    decision = evaluate_rules(RULES, facts())
    data = decision.to_json()
    assert data["phase"] == "arrival"
    assert data["matched"] == ["spine-mr", "catch-all"]
    assert data["rules"][0]["status"] == "matched"
    text = "\n".join(decision.describe())
    assert "rule 'leak-stat': deferred" in text
    assert "forward to: archive" in text
