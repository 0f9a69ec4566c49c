"""The local rate bench reads an action's EMF metrics as a dispatcher would read its speed."""

from __future__ import annotations

from bench.local_rate import figures


def test_quota_use_is_the_rate_from_first_to_last_sms_over_the_configured_rate() -> None:
    # 100 SMS in four chunks: the first at 2 s, the last at 4.2 s after the action's start
    values = {
        "AlertsSent": [25.0, 25.0, 25.0, 25.0],
        "TimeToFirstAlert": [2000.0],
        "TimeToLastAlert": [2600.0, 3300.0, 4200.0, 3900.0],
    }

    row = figures(values, rate=50)

    # 99 gaps between 100 SMS in 2.2 s: 45/s of 50
    assert row == {
        "sms": 100,
        "first_sms_s": 2.0,
        "last_sms_s": 4.2,
        "sms_per_s": 45.0,
        "quota_use": 0.9,
    }
