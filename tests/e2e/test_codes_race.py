"""On `make run`: 60 simultaneous wrong guesses at one signup, over HTTP, as a script would send."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter

import requests

from tests.support.local import LocalSystem

PHONE = "+31612340000"
GUESSES = 60


def test_sixty_wrong_guesses_at_once_get_at_most_five_judged_and_the_right_code_is_refused(
    local_system: LocalSystem,
) -> None:
    api = local_system.api
    signup = requests.post(
        f"{api}/signup",
        json={
            "municipality": "GM0344",
            "phone": PHONE,
            "birth_date": "1990-04-01",
            "places": [{"label": "home", "lat": 52.0907, "lon": 5.1214}],
        },
        timeout=10,
    )
    assert signup.status_code == 202, signup.text
    signup_id = signup.json()["signup_id"]
    found = re.search(r"\b\d{6}\b", local_system.sms_to(PHONE)[-1])
    assert found
    code = found.group()
    guess = f"{(int(code) + 1) % 1_000_000:06d}"
    start = threading.Barrier(GUESSES)
    answers: Counter[tuple[int, str]] = Counter()
    lock = threading.Lock()

    def send() -> None:
        start.wait()
        for _ in range(20):  # the local server's listen backlog is short: a script retries
            try:
                response = requests.post(
                    f"{api}/signup/verify",
                    json={"signup_id": signup_id, "code": guess},
                    timeout=30,
                )
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        else:
            raise AssertionError("the local API refused the connection 20 times")
        with lock:
            answers[(response.status_code, response.json()["error"])] += 1

    threads = [threading.Thread(target=send) for _ in range(GUESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(answers.values()) == GUESSES, answers
    assert answers[(400, "wrong_code")] <= 5, answers
    assert set(answers) <= {(400, "wrong_code"), (403, "locked"), (429, "too_many_requests")}
    right = requests.post(
        f"{api}/signup/verify", json={"signup_id": signup_id, "code": code}, timeout=10
    )
    assert right.status_code in (403, 429), right.text
