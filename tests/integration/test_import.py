"""Importing a municipality's participant list, as the operator running `make import` sees it."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.dal.models import Participant, Place
from chalicelib.dal.participants import places_in
from chalicelib.domain.geo.shapes import Circle
from chalicelib.domain.roster import Rejected
from tests.support.builders import UTRECHT
from tests.support.system import System
from tools import import_participants
from tools.emulator import stage_environment
from tools.import_participants import import_lines

METRES_PER_DEGREE_LAT = 111_195
HEADER = "phone,lat,lon,label,language,channel"

ANNA, BOB, CEES = "+31610000001", "+31610000002", "+31610000003"


def north(metres: float) -> tuple[float, float]:
    """A point the given distance due north of UTRECHT."""
    return UTRECHT[0] + metres / METRES_PER_DEGREE_LAT, UTRECHT[1]


HOME_A, WORK_A = north(100), north(3000)
HOME_B, HOME_C = north(-200), north(-5000)
FAR_AWAY = (53.2194, 6.5665)  # Groningen


def csv(*rows: str) -> list[str]:
    """CSV lines as a file yields them."""
    return [f"{line}\n" for line in (HEADER, *rows)]


def row(phone: str, at: tuple[float, float], label: str, language: str = "nl") -> str:
    return f"{phone},{at[0]},{at[1]},{label},{language},sms"


ROSTER = csv(
    row("06-10000001", HOME_A, "home"),
    row("+31 6 1000 0001", WORK_A, "work"),
    row("0031610000002", HOME_B, "home", "en"),
    row("0610000003", HOME_C, "home"),
)


def run_import(lines: list[str]) -> tuple[Counter[str], list[Rejected]]:
    return import_lines(lines, progress=False)


def phones_near(at: tuple[float, float], radius_m: float = 150) -> set[str]:
    """Whom an action at this spot would alert."""
    return {place.phone for _, place in places_in(Circle(at[0], at[1], radius_m))}


def reach(system: System, at: tuple[float, float], radius_m: int = 150) -> int:
    """POST /reach: how many people an action here would alert."""
    area = {"lat": at[0], "lon": at[1], "radius_m": radius_m}
    response = system.post("/reach", {"area": area})
    assert response.status_code == 200, response.body
    return int(response.json_body["participants"])


def start_action_at(system: System, at: tuple[float, float], radius_m: int = 150) -> Counter[str]:
    """Start an action here, let the system send its alerts, and count the SMS per phone."""
    body = {
        "incident": "burglary",
        "description": "Man, ongeveer 30 jaar, donkere jas",
        "area": {"lat": at[0], "lon": at[1], "radius_m": radius_m},
    }
    response = system.post("/actions", body)
    assert response.status_code == 202, response.body
    system.run_queues()
    return Counter(phone for phone, _ in system.emulator.sms())


def place_items() -> list[tuple[str, str, str, str]]:
    """Every geo-index item, as (phone, label, cell, sort key)."""
    return sorted((p.phone, p.label, p.cell, p.sk) for p in Place.scan())


def participants() -> dict[str, Participant]:
    return {p.phone: p for p in Participant.scan()}


# --- a first import ----------------------------------------------------------------------------


def test_given_a_roster_when_imported_then_everyone_is_reachable_at_each_of_their_places(
    system: System,
) -> None:
    outcomes, rejected = run_import(ROSTER)
    assert rejected == []
    assert outcomes["created"] == 3
    assert reach(system, HOME_A) == 1
    assert reach(system, WORK_A) == 1
    assert reach(system, HOME_B) == 1
    assert reach(system, HOME_C) == 1
    assert reach(system, FAR_AWAY) == 0
    assert reach(system, UTRECHT, 500) == 2  # Anna's home and Bob's home
    assert phones_near(HOME_A) == {ANNA}
    assert phones_near(WORK_A) == {ANNA}
    assert phones_near(HOME_B) == {BOB}


def test_given_a_roster_when_imported_then_each_person_is_stored_once_with_their_places(
    aws: None,
) -> None:
    run_import(ROSTER)
    people = participants()
    assert set(people) == {ANNA, BOB, CEES}
    assert sorted(p.label for p in people[ANNA].places) == ["home", "work"]
    assert people[BOB].language == "en"
    assert people[ANNA].language == "nl"
    assert [(phone, label) for phone, label, _, _ in place_items()] == [
        (ANNA, "home"),
        (ANNA, "work"),
        (BOB, "home"),
        (CEES, "home"),
    ]


def test_given_a_person_with_two_nearby_places_when_reached_then_they_count_once(
    system: System,
) -> None:
    run_import(csv(row(ANNA, north(100), "home"), row(ANNA, north(150), "work")))
    assert len(place_items()) == 2
    assert reach(system, UTRECHT, 500) == 1


# --- importing again ---------------------------------------------------------------------------


def test_given_a_roster_imported_when_imported_again_then_nothing_changes(aws: None) -> None:
    run_import(ROSTER)
    items, people = place_items(), participants()
    outcomes, rejected = run_import(ROSTER)
    assert rejected == []
    assert outcomes["unchanged"] == 3
    assert outcomes["created"] == 0
    assert outcomes["updated"] == 0
    assert place_items() == items
    again = participants()
    assert {p: again[p].participant_id for p in again} == {
        p: people[p].participant_id for p in people
    }


def test_given_a_roster_imported_when_imported_again_in_other_notations_then_nothing_changes(
    aws: None,
) -> None:
    run_import(ROSTER)
    items = place_items()
    outcomes, _ = run_import(
        csv(
            row("+31 6 1000 0002", HOME_B, "HOME", "EN"),
            row("0610000003", HOME_C, "home"),
            row("06 10 00 00 01", WORK_A, "work"),
            row("06-10000001", HOME_A, "home"),
        )
    )
    assert outcomes["unchanged"] == 3
    assert place_items() == items
    assert len(participants()) == 3


def test_given_someone_moved_when_reimported_then_they_are_reached_at_the_new_home_only(
    system: System,
) -> None:
    run_import(ROSTER)
    new_home = north(-2000)
    moved = [
        line.replace(f"{HOME_A[0]},{HOME_A[1]}", f"{new_home[0]},{new_home[1]}") for line in ROSTER
    ]
    assert moved != ROSTER
    outcomes, rejected = run_import(moved)
    assert rejected == []
    assert outcomes["updated"] == 1
    assert outcomes["unchanged"] == 2
    assert reach(system, HOME_A) == 0
    assert phones_near(HOME_A) == set()
    assert phones_near(new_home) == {ANNA}
    assert phones_near(WORK_A) == {ANNA}
    assert sum(1 for phone, *_ in place_items() if phone == ANNA) == 2
    assert sorted((p.label, float(p.lat)) for p in participants()[ANNA].places) == sorted(
        [("home", new_home[0]), ("work", WORK_A[0])]
    )


def test_given_someone_dropped_a_place_when_reimported_then_it_is_gone(system: System) -> None:
    run_import(ROSTER)
    outcomes, _ = run_import([line for line in ROSTER if ",work," not in line])
    assert outcomes["updated"] == 1
    assert reach(system, WORK_A) == 0
    assert reach(system, HOME_A) == 1
    assert [p.label for p in participants()[ANNA].places] == ["home"]


def test_given_someone_switched_language_when_reimported_then_their_alert_is_in_it(
    system: System,
) -> None:
    run_import(ROSTER)
    outcomes, rejected = run_import(
        csv(
            row("06-10000001", HOME_A, "home", "en"),
            row("+31 6 1000 0001", WORK_A, "work", "en"),
            row("0031610000002", HOME_B, "home", "en"),
            row("0610000003", HOME_C, "home"),
        )
    )
    assert rejected == []
    assert outcomes["updated"] == 1
    assert participants()[ANNA].language == "en"
    assert {p.language for p in Place.scan() if p.phone == ANNA} == {"en"}

    assert start_action_at(system, HOME_A) == {ANNA: 1}
    texts = system.emulator.sms_to(ANNA)
    assert len(texts) == 1
    assert "The police are looking for" in texts[0]


def test_given_an_import_cut_off_before_people_were_recorded_when_rerun_then_each_counts_once(
    system: System,
) -> None:
    # The import writes places first and the participant records last, so that running it again
    # after a crash (a lost connection, Ctrl-C) finishes the job instead of doubling anyone.
    def lost_connection(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("connection lost")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Participant, "batch_write", lost_connection)
        with pytest.raises(ConnectionError):
            run_import(ROSTER)

    outcomes, rejected = run_import(ROSTER)
    assert rejected == []
    assert outcomes["created"] + outcomes["updated"] + outcomes["unchanged"] == 3
    assert set(participants()) == {ANNA, BOB, CEES}
    assert start_action_at(system, HOME_A) == {ANNA: 1}, "one alert, not one per run"
    assert reach(system, UTRECHT, 500) == 2
    assert len(place_items()) == 4, "places left by the cut-off run must not stay behind"


# --- rejected rows -----------------------------------------------------------------------------


def test_given_some_bad_rows_when_imported_then_the_good_rows_are_still_imported(
    system: System,
) -> None:
    outcomes, rejected = run_import(
        csv(
            row(ANNA, HOME_A, "home"),
            row("06-1234", HOME_B, "home"),  # no such number
            row(CEES, HOME_C, "home"),
            row(CEES, FAR_AWAY, "home"),  # the label twice: Cees is skipped whole
        )
    )
    assert outcomes["created"] == 1
    assert outcomes["rejected rows"] == 3
    assert [r.line for r in rejected] == [3, 4, 5]
    assert reach(system, HOME_A) == 1
    assert reach(system, HOME_C) == 0
    assert set(participants()) == {ANNA}


def test_given_a_bad_row_for_someone_imported_when_reimported_then_their_places_stay(
    system: System,
) -> None:
    run_import(ROSTER)
    typo = [line.replace(f"{WORK_A[1]},work", "5.12O,work") for line in ROSTER]
    assert typo != ROSTER
    outcomes, rejected = run_import(typo)
    assert outcomes["rejected rows"] == 2  # the typo, and Anna's home row skipped with it
    assert [r.line for r in rejected] == [2, 3]
    assert reach(system, WORK_A) == 1
    assert reach(system, HOME_A) == 1


# --- the command -------------------------------------------------------------------------------


@pytest.fixture
def command(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """main() writes its stage's variables into os.environ; monkeypatch puts them back after."""
    for key, value in stage_environment("test").items():
        monkeypatch.setenv(key, os.environ.get(key, value))
    yield


def test_given_a_clean_file_when_the_command_runs_then_it_exits_0(
    command: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "utrecht.csv"
    path.write_text("".join(ROSTER), encoding="utf-8")
    assert import_participants.main([str(path), "--stage", "test"]) == 0
    out, err = capsys.readouterr()
    assert "3 created" in out
    assert "rejected:" not in err
    assert set(participants()) == {ANNA, BOB, CEES}


def test_given_a_file_saved_by_excel_with_a_bom_when_the_command_runs_then_it_exits_0(
    command: None, tmp_path: Path
) -> None:
    path = tmp_path / "utrecht.csv"
    path.write_text("".join(ROSTER).replace("\n", "\r\n"), encoding="utf-8-sig")
    assert import_participants.main([str(path), "--stage", "test"]) == 0
    assert set(participants()) == {ANNA, BOB, CEES}


def test_given_rejected_rows_when_the_command_runs_then_it_lists_them_and_exits_1(
    command: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "utrecht.csv"
    lines = csv(row(ANNA, HOME_A, "home"), row(BOB, (60.0, 5.0), "home"), "0610000003,52.1\n")
    path.write_text("".join(lines), encoding="utf-8")
    assert import_participants.main([str(path), "--stage", "test"]) == 1
    _, err = capsys.readouterr()
    assert "line 3: rejected: lat" in err
    assert "line 4: rejected:" in err
    assert "line 2: rejected" not in err
    assert BOB not in err and "0610000003" not in err
    assert set(participants()) == {ANNA}


def test_given_a_missing_file_when_the_command_runs_then_it_exits_2(
    command: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nowhere.csv"
    assert import_participants.main([str(path), "--stage", "test"]) == 2
    _, err = capsys.readouterr()
    assert "nowhere.csv" in err


def test_given_a_file_with_the_wrong_header_when_the_command_runs_then_it_exits_2(
    command: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "utrecht.csv"
    path.write_text("telefoon,lat,lon\n0610000001,52.1,5.1\n", encoding="utf-8")
    assert import_participants.main([str(path), "--stage", "test"]) == 2
    _, err = capsys.readouterr()
    assert HEADER in err
    assert participants() == {}
