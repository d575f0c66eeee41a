"""Issue 12 point 25: the fast part of the campaign in the suite — a real ``hailong serve`` on
127.0.0.1 behind a connection-dropping proxy, a worker killed, every batch replayed until each
item has a fate, then form fuzzing of every HTML form and the API: nothing lost, nothing stored
twice, no 5xx. The long run is ``bench/campaign/run.py`` (README, "Benchmarks")."""

from __future__ import annotations


def test_the_campaign_loses_nothing_duplicates_nothing_and_never_answers_5xx(capsys) -> None:  # type: ignore[no-untyped-def]
    from bench.campaign.run import main

    assert main(["--submissions", "100", "--drop", "0.3", "--kills", "1", "--fuzz", "6", "--seconds", "150"]) == 0
    out = capsys.readouterr().out
    assert "stored 100 (device total 100), expected 100" in out and "server errors 0" in out
