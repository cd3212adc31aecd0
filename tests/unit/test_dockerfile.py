"""The Dockerfile reader: continuations, the escape directive, comments,
heredocs, ARG scope and substitution, as Docker reads them."""

import pytest

from pytest_lambda_image.build.dockerfile import expand, parse, split_words, stages
from pytest_lambda_image.build.inputs import base_images, buildkit_features, copied_sources, hashed_files


def test_a_from_continued_on_the_next_line():
    assert base_images("FROM \\\n  public.ecr.aws/lambda/python:3.12\nRUN true\n", {}) == [
        "public.ecr.aws/lambda/python:3.12"
    ]


def test_continuations_with_flags_stage_names_and_trailing_blanks():
    text = "FROM --platform=linux/arm64 \\  \n    base:1 \\\n    AS build\nFROM build\n"
    first, second = stages(parse(text), {})
    assert second.base == "build"
    assert (first.base, first.platform, first.name) == ("base:1", "linux/arm64", "build")
    assert (first.instruction.first_line, first.instruction.last_line) == (0, 2)
    assert base_images(text, {}) == ["base:1"]


def test_a_continued_line_keeps_its_leading_blanks():
    (stage,) = stages(parse("FROM base:1\\\n AS build\nRUN make\n"), {})
    assert (stage.base, stage.name) == ("base:1", "build")


def test_an_escaped_escape_character_does_not_continue_the_line():
    text = "FROM a\nRUN echo \\\\\nFROM b\n"
    assert [i.keyword for i in parse(text).instructions] == ["FROM", "RUN", "FROM"]
    assert base_images(text, {}) == ["a", "b"]


def test_comments_and_blank_lines_inside_a_continuation_are_skipped():
    text = "ARG BASE=a:1\nFROM \\\n# the base\n\n  ${BASE}\n"
    assert base_images(text, {}) == ["a:1"]


def test_the_escape_directive():
    text = "# escape=`\nFROM `\n  c:\\images\\base `\n  AS x\nFROM x\n"
    parsed = parse(text)
    assert parsed.escape == "`"
    assert base_images(text, {}) == ["c:\\images\\base"]
    # Without the directive the backtick is an ordinary character.
    assert base_images("FROM a`\nFROM b\n", {}) == ["a`", "b"]


def test_a_directive_only_counts_before_anything_else():
    assert parse("FROM a\n# escape=`\n").escape == "\\"
    assert parse("# a comment\n# syntax=docker/dockerfile:1\nFROM a\n").directives == {}
    assert buildkit_features("FROM x\n# syntax=docker/dockerfile:1\n") == []


def test_a_trailing_continuation_at_the_end_of_the_file():
    assert base_images("FROM \\", {}) == []
    assert base_images("FROM a\nRUN echo \\", {}) == ["a"]


def test_only_args_before_the_first_from_reach_a_from():
    text = "ARG A=one\nFROM img:$A\nARG B=two\nFROM img:${B:-fallback}\n"
    assert base_images(text, {}) == ["img:one", "img:fallback"]
    assert base_images(text, {"A": "cli", "B": "ignored"}) == ["img:cli", "img:fallback"]


def test_several_args_on_one_line_and_quotes():
    text = 'ARG REPO="my repo" \\\n    TAG=1.0 EMPTY\nFROM ${REPO}:${TAG}${EMPTY:+-x}\n'
    assert base_images(text, {}) == ["my repo:1.0"]


def test_words_and_substitution():
    assert split_words("COPY --chown=1:1 'a b' \"c d\" e\\ f") == ["COPY", "--chown=1:1", "a b", "c d", "e f"]
    assert expand("${A:-x}/${B:+y}/$C", {"A": "", "B": "1"}) == "x/y/"
    assert expand("${A-x}", {"A": ""}) == ""


@pytest.mark.parametrize(
    ("dockerfile", "features"),
    [
        ("FROM x\nRUN \\\n  --mount=type=cache,target=/root/.cache pip install .\n", ["RUN --mount"]),
        ("FROM x\nCOPY \\\n  --chmod=0755 bootstrap /var/runtime/\n", ["COPY --chmod"]),
        ("FROM x\nCOPY --link app.py /var/task/\n", ["COPY --link"]),
        ("FROM x\nRUN echo --mount is an argument here\n", []),
    ],
)
def test_buildkit_features_on_continued_lines(dockerfile, features):
    assert buildkit_features(dockerfile) == features


def test_a_heredoc_without_its_terminator_is_not_one():
    assert base_images('FROM a\nRUN echo "1<<EOF"\nFROM b\n', {}) == ["a", "b"]


def test_a_heredoc_body_is_not_read_as_instructions():
    text = "FROM a\nRUN <<EOF\nFROM not-a-base\nEOF\nFROM b\n"
    assert base_images(text, {}) == ["a", "b"]
    assert buildkit_features(text) == ["a heredoc"]


CONTEXT = [
    ".pytest_cache",
    ".pytest_cache/v/cache/lastfailed",
    "app.py",
    "src/__pycache__/app.cpython-312.pyc",
    "src/app.py",
    "tests/test_app.py",
]


@pytest.mark.parametrize(
    ("dockerfile", "hashed"),
    [
        # Caches no COPY reaches change nothing in the image.
        ("FROM b\nCOPY app.py src/app.py /var/task/\n", ["app.py", "src/app.py", "tests/test_app.py"]),
        (
            "FROM b\nCOPY src/ /var/task/\n",
            ["app.py", "src/__pycache__/app.cpython-312.pyc", "src/app.py", "tests/test_app.py"],
        ),
        ('FROM b\nCOPY --chown=1:1 ["app.py", "/var/task/"]\n', ["app.py", "src/app.py", "tests/test_app.py"]),
        ("FROM b\nCOPY --from=build /out/.pytest_cache /x\n", ["app.py", "src/app.py", "tests/test_app.py"]),
        # What Docker copies counts.
        ("FROM b\nCOPY . /var/task\n", CONTEXT),
        (
            "FROM b\nCOPY ./src/* /var/task/\n",
            ["app.py", "src/__pycache__/app.cpython-312.pyc", "src/app.py", "tests/test_app.py"],
        ),
        (
            "FROM b\nCOPY \\\n  .pytest_cache /keep\n",
            [".pytest_cache", ".pytest_cache/v/cache/lastfailed", "app.py", "src/app.py", "tests/test_app.py"],
        ),
        # The build may read anything: everything counts.
        ("FROM b\nRUN --mount=target=/src make\n", CONTEXT),
        ("FROM b\nARG DIR=src\nCOPY $DIR /var/task\n", CONTEXT),
        (
            "FROM b\nRUN --mount=type=cache,target=/root/.cache make\nCOPY app.py /\n",
            ["app.py", "src/app.py", "tests/test_app.py"],
        ),
    ],
)
def test_cache_directories_count_only_when_copied(dockerfile, hashed):
    assert hashed_files(CONTEXT, copied_sources(dockerfile)) == hashed
