"""The Amazon Connect flows in infra/connect: well-formed flow language, wired as intended."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

FLOWS_DIR = Path(__file__).resolve().parents[2] / "infra" / "connect"
OUTBOUND = "outbound-alert-flow.json"
INBOUND = "inbound-callback-flow.json"
FLOW_FILES = [OUTBOUND, INBOUND]

# The flow language: Identifiers up to 50 characters, none of these in them.
FORBIDDEN_IN_IDENTIFIER = set("%:(\\/)=$,;[]{}")
# Actions that end the flow on success, so have no NextAction.
TERMINAL_TYPES = {"DisconnectParticipant", "TransferContactToQueue"}
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")


@cache
def load(name: str) -> dict[str, Any]:
    flow: dict[str, Any] = json.loads((FLOWS_DIR / name).read_text(encoding="utf-8"))
    return flow


def actions(name: str) -> dict[str, dict[str, Any]]:
    return {action["Identifier"]: action for action in load(name)["Actions"]}


def successors(action: dict[str, Any]) -> Iterator[str]:
    """Every action this one can lead to: NextAction, Conditions and Errors."""
    transitions = action.get("Transitions", {})
    if "NextAction" in transitions:
        yield transitions["NextAction"]
    for branch in transitions.get("Conditions", []) + transitions.get("Errors", []):
        yield branch["NextAction"]


def of_type(name: str, type_: str) -> list[dict[str, Any]]:
    return [action for action in load(name)["Actions"] if action["Type"] == type_]


# --- every flow -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FLOW_FILES)
def test_flow_has_version_and_an_existing_start_action(name: str) -> None:
    flow = load(name)

    assert flow["Version"] == "2019-10-30"
    assert flow["StartAction"] in actions(name)


@pytest.mark.parametrize("name", FLOW_FILES)
def test_identifiers_are_unique_and_valid(name: str) -> None:
    identifiers = [action["Identifier"] for action in load(name)["Actions"]]

    assert len(identifiers) == len(set(identifiers))
    for identifier in identifiers:
        assert 0 < len(identifier) <= 50, identifier
        assert not FORBIDDEN_IN_IDENTIFIER & set(identifier), identifier


@pytest.mark.parametrize("name", FLOW_FILES)
def test_every_transition_leads_to_an_existing_action(name: str) -> None:
    known = actions(name)

    for identifier, action in known.items():
        for target in successors(action):
            assert target in known, f"{identifier} -> {target}"


@pytest.mark.parametrize("name", FLOW_FILES)
def test_conditions_and_errors_are_well_formed(name: str) -> None:
    for action in load(name)["Actions"]:
        transitions = action.get("Transitions", {})
        for branch in transitions.get("Conditions", []):
            assert branch["Condition"]["Operator"] == "Equals", action["Identifier"]
            assert len(branch["Condition"]["Operands"]) == 1, action["Identifier"]
        for branch in transitions.get("Errors", []):
            assert branch["ErrorType"], action["Identifier"]


@pytest.mark.parametrize("name", FLOW_FILES)
def test_only_terminal_actions_lack_a_next_action_and_every_other_handles_errors(
    name: str,
) -> None:
    for identifier, action in actions(name).items():
        transitions = action["Transitions"]
        if action["Type"] in TERMINAL_TYPES:
            assert "NextAction" not in transitions, identifier
        else:
            assert "NextAction" in transitions, identifier
            assert transitions.get("Errors"), f"{identifier} has no error branch"


@pytest.mark.parametrize("name", FLOW_FILES)
def test_every_action_is_reachable_from_the_start(name: str) -> None:
    known = actions(name)
    seen: set[str] = set()
    todo = [load(name)["StartAction"]]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(successors(known[current]))

    assert seen == set(known)


@pytest.mark.parametrize("name", FLOW_FILES)
def test_layout_metadata_names_only_existing_actions(name: str) -> None:
    layout = load(name).get("Metadata", {}).get("ActionMetadata", {})

    assert set(layout) <= set(actions(name))


@pytest.mark.parametrize("name", FLOW_FILES)
def test_every_placeholder_is_documented_in_the_readme(name: str) -> None:
    readme = (FLOWS_DIR / "README.md").read_text(encoding="utf-8")

    for placeholder in PLACEHOLDER.findall((FLOWS_DIR / name).read_text(encoding="utf-8")):
        assert f"${{{placeholder}}}" in readme, placeholder


# --- the outbound alert flow ------------------------------------------------------------------


def test_outbound_flow_speaks_the_message_attribute_in_the_voice_attribute() -> None:
    voices = of_type(OUTBOUND, "UpdateContactTextToSpeechVoice")
    plays = of_type(OUTBOUND, "MessageParticipant")

    start = actions(OUTBOUND)[load(OUTBOUND)["StartAction"]]
    assert start["Type"] == "UpdateContactTextToSpeechVoice"
    assert start["Parameters"]["TextToSpeechVoice"] == "$.Attributes.voice"
    assert {v["Parameters"]["TextToSpeechEngine"] for v in voices} == {"Neural"}
    assert plays
    assert all(play["Parameters"] == {"Text": "$.Attributes.message"} for play in plays)


def test_outbound_flow_offers_a_replay_in_the_callers_language() -> None:
    compares = of_type(OUTBOUND, "Compare")
    prompts = {p["Identifier"]: p for p in of_type(OUTBOUND, "GetParticipantInput")}

    assert any(c["Parameters"]["ComparisonValue"] == "$.Attributes.language" for c in compares)
    texts = {p["Parameters"]["Text"] for p in prompts.values()}
    assert "Druk op 1 om het bericht nog eens te horen." in texts
    assert "Press 1 to hear the message again." in texts
    for prompt in prompts.values():
        (one,) = prompt["Transitions"]["Conditions"]
        assert one["Condition"]["Operands"] == ["1"]
        assert actions(OUTBOUND)[one["NextAction"]]["Type"] == "MessageParticipant"


def message_plays_on_longest_path(name: str) -> int:
    """The most times any path plays $.Attributes.message; fails on a cycle (unbounded replay)."""
    known = actions(name)

    def longest(identifier: str, path: tuple[str, ...]) -> int:
        assert identifier not in path, f"cycle through {identifier}"
        action = known[identifier]
        here = int(action["Parameters"].get("Text") == "$.Attributes.message")
        after = [longest(nxt, (*path, identifier)) for nxt in set(successors(action))]
        return here + max(after, default=0)

    return longest(load(name)["StartAction"], ())


def test_outbound_flow_plays_twice_and_replays_at_most_once_then_hangs_up() -> None:
    assert message_plays_on_longest_path(OUTBOUND) == 3
    assert of_type(OUTBOUND, "DisconnectParticipant")


# --- the inbound callback flow ----------------------------------------------------------------


def test_inbound_flow_asks_the_callback_router_lambda() -> None:
    (invoke,) = of_type(INBOUND, "InvokeLambdaFunction")

    assert invoke["Parameters"]["LambdaFunctionARN"] == "${CallbackRouterArn}"
    assert 0 < int(invoke["Parameters"]["InvocationTimeLimitSeconds"]) <= 8
    # If the Lambda fails, the caller still reaches a person.
    (on_error,) = invoke["Transitions"]["Errors"]
    target = actions(INBOUND)[on_error["NextAction"]]
    assert target["Parameters"] == {"QueueId": "${GeneralQueueArn}"}


def test_inbound_flow_keeps_the_route_and_transfers_to_the_chosen_queue() -> None:
    (remember,) = of_type(INBOUND, "UpdateContactAttributes")
    (choose,) = of_type(INBOUND, "Compare")
    queues = {q["Parameters"]["QueueId"] for q in of_type(INBOUND, "UpdateContactTargetQueue")}

    # Everything the router answers is kept for the dispatcher's screen and the contact record.
    assert remember["Parameters"]["Attributes"] == {
        name: f"$.External.{name}"
        for name in ("queue", "action_ref", "incident", "municipality", "action_status")
    }
    assert choose["Parameters"]["ComparisonValue"] == "$.External.queue"
    assert queues == {"${DispatchQueueArn}", "${GeneralQueueArn}"}
    assert of_type(INBOUND, "TransferContactToQueue")


# Actions that may read attributes because nothing of them reaches the caller's ear.
SILENT_TYPES = {"UpdateContactAttributes", "Compare", "UpdateContactTargetQueue"}
ATTRIBUTE = re.compile(r"\$\.(Attributes|External)\b")


def strings_in(value: Any) -> Iterator[str]:
    """Every string in an action's parameters, however nested."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for inner in value.values():
            yield from strings_in(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from strings_in(inner)


def test_inbound_flow_never_speaks_an_attribute_to_the_caller() -> None:
    # A caller's number can be spoofed: whatever the router found is for the dispatcher only.
    for identifier, action in actions(INBOUND).items():
        if action["Type"] in SILENT_TYPES:
            continue
        for text in strings_in(action.get("Parameters", {})):
            assert not ATTRIBUTE.search(text), f"{identifier} ({action['Type']}) uses {text!r}"


def prompts_heard(queue: str) -> set[tuple[str, ...]]:
    """Every sequence of prompts a caller can hear when the router answers `queue`, along every
    path the flow can take (errors and full queues included)."""
    known = actions(INBOUND)
    heard: set[tuple[str, ...]] = set()

    def walk(identifier: str, prompts: tuple[str, ...], path: tuple[str, ...]) -> None:
        assert identifier not in path, f"cycle through {identifier}"
        action = known[identifier]
        params = action.get("Parameters", {})
        if action["Type"] in ("MessageParticipant", "GetParticipantInput"):
            spoken = params.get("Text") or params.get("SSML") or params.get("PromptId")
            prompts = (*prompts, str(spoken))
        if action["Type"] == "Compare" and params["ComparisonValue"] == "$.External.queue":
            transitions = action["Transitions"]
            matching = [
                branch["NextAction"]
                for branch in transitions["Conditions"]
                if branch["Condition"]["Operands"] == [queue]
            ]
            nexts = set(matching or [transitions["NextAction"]])
        else:
            nexts = set(successors(action))
        if not nexts:
            heard.add(prompts)
        for nxt in nexts:
            walk(nxt, prompts, (*path, identifier))

    walk(load(INBOUND)["StartAction"], (), ())
    return heard


def test_a_known_and_an_unknown_caller_hear_exactly_the_same_prompts() -> None:
    dispatch, general = prompts_heard("dispatch"), prompts_heard("general")

    assert dispatch == general
    # ...and they do hear something: a welcome before anything else, on every path.
    assert all(heard and heard[0].startswith("Welkom bij Burgernet") for heard in dispatch)
