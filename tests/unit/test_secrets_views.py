"""How find_secrets reads a long text: each rule on a view of it (the runs of
token characters, or the windows around its hints) made once and shared
between a text's contexts, matches placed back where they are in the text,
and the search stopped once MAX_MATCHES are found."""

from __future__ import annotations

import pytest

import pytest_lambda_image.audit.secrets as secrets
from pytest_lambda_image.audit.secrets import MAX_MATCHES, RUN_LENGTH, find_secrets
from tests import fakes

FILLER = "the quick brown fox jumps over the lazy dog\n"


def found(matches: list[secrets.SecretMatch]) -> list[tuple[str, str, int, int]]:
    return [(m.rule.id, m.secret, m.start, m.end) for m in matches]


def searched_whole(text: str | bytes, context: secrets.Context, monkeypatch: pytest.MonkeyPatch) -> list:
    with monkeypatch.context() as patch:
        patch.setattr(secrets, "_WHOLE_BELOW", 10**9)
        return found(find_secrets(text.decode("latin-1") if isinstance(text, bytes) else text, context))


def test_a_long_text_s_views_are_made_once_and_shared_between_contexts():
    text = FILLER * 200 + f"GITHUB_TOKEN={fakes.github_token('views')}\n" + FILLER * 200
    shared: dict[str, object] = {}
    in_code = find_secrets(text, "code", shared=shared)
    runs, lowered = shared["runs"], shared["lowered"]
    assert isinstance(runs, secrets._View) and lowered == text.lower()
    in_vendored = find_secrets(text, "vendored", shared=shared)
    assert shared["runs"] is runs and shared["lowered"] is lowered  # not made again
    assert found(in_code) == found(find_secrets(text, "code"))
    assert found(in_vendored) == found(find_secrets(text, "vendored"))
    assert [m.rule.id for m in in_code] == [m.rule.id for m in in_vendored] == ["github-token"]


def test_a_short_text_keeps_nothing_in_shared():
    shared: dict[str, object] = {}
    assert [m.rule.id for m in find_secrets(f"GITHUB_TOKEN={fakes.github_token()}", "code", shared=shared)] == [
        "github-token"
    ]
    assert shared == {}


def test_a_long_text_without_token_runs_is_searched_only_around_hints(monkeypatch):
    # No run of RUN_LENGTH token characters: the token formats have nothing to look at,
    # the password in a URL (a windowed rule) is still found.
    password = "Pw-" + "x1y2" * 3  # shorter than a run
    assert len(password) < RUN_LENGTH
    text = FILLER * 200 + f"git clone https://deploy:{password}@git.example.org/repo.git\n" + FILLER * 200
    shared: dict[str, object] = {}
    matches = find_secrets(text, "config", shared=shared)
    assert isinstance(shared["runs"], secrets._View) and shared["runs"].text == ""
    assert found(matches) == searched_whole(text, "config", monkeypatch)
    assert [(m.rule.id, m.secret) for m in matches] == [("url-password", password)]
    assert text[matches[0].start : matches[0].end] == password


def test_matches_in_views_are_placed_where_they_are_in_the_text(monkeypatch):
    text = "".join(FILLER * (30 + i) + f"key_{i} = {fakes.access_key_id(str(i))}\n" for i in range(5))
    for sample in (text, text.encode("latin-1")):
        matches = find_secrets(sample, "code")
        assert len(matches) == 5
        for match in matches:
            assert text[match.start : match.end] == match.secret
        assert found(matches) == searched_whole(sample, "code", monkeypatch)


def test_a_match_on_a_view_s_lead_or_across_its_pieces_is_not_the_text_s():
    # Each piece of a view is led by the character before it in the text (for
    # look-behinds) and joined to the next by NUL: a match starting on a lead or
    # running into the next piece is nowhere in the text, and is dropped.
    text = "0123456789" * 10
    view = secrets._View(text, [(10, 20), (50, 60)])
    first, second = view.starts
    assert view.text[first : first + 10] == text[10:20] and view.text[second : second + 10] == text[50:60]
    rule = secrets.RULES[0]
    inside = secrets.SecretMatch(rule, "x", second + 2, second + 5)
    on_lead = secrets.SecretMatch(rule, "x", second - 1, second + 3)
    across = secrets.SecretMatch(rule, "x", first + 8, second + 1)
    found_: list[secrets.SecretMatch] = []
    starts: list[int] = []
    by_start: list[secrets.SecretMatch] = []
    assert secrets._claim([on_lead, across, inside], view, found_, starts, by_start)
    assert [(m.start, m.end) for m in found_] == [(52, 55)] and starts == [52]


def test_the_search_stops_once_max_matches_are_found():
    # MAX_MATCHES key ids, then a GitHub token: the token (a later rule) is not reported.
    keys = "".join(f"{fakes.access_key_id(str(i))}\n" for i in range(MAX_MATCHES))
    text = keys + f"GITHUB_TOKEN={fakes.github_token()}\n" + FILLER * 100
    matches = find_secrets(text, "config")
    assert [m.rule.id for m in matches] == ["aws-access-key-id"] * MAX_MATCHES
    assert [m.start for m in matches] == sorted(m.start for m in matches)
    # One fewer key id: the token is reported too.
    fewer = "".join(f"{fakes.access_key_id(str(i))}\n" for i in range(MAX_MATCHES - 1))
    matches = find_secrets(fewer + f"GITHUB_TOKEN={fakes.github_token()}\n" + FILLER * 100, "config")
    assert [m.rule.id for m in matches][-1] == "github-token" and len(matches) == MAX_MATCHES


def test_a_span_claimed_by_a_specific_rule_in_a_view_is_not_reported_again():
    text = FILLER * 100 + f"AWS_SECRET_ACCESS_KEY={fakes.secret_access_key('claim')}\n" + FILLER * 100
    assert [m.rule.id for m in find_secrets(text, "config")] == ["aws-secret-access-key"]
