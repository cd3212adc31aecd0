"""Credential rules: what a leaked secret looks like in text, and how to show
one without revealing it.

Pure logic, no Docker: the scanner in credentials.py feeds it history steps,
config values and file contents.
"""

from __future__ import annotations

import binascii
import bisect
import functools
import hashlib
import math
import posixpath
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

#: config: history, env, labels and .env files, where NAME=value is how settings are written;
#: data: structured files (.json, .yaml, .ini, ...), where a plain word is a label, not a secret;
#: code: other text, where only random-looking values count;
#: binary: compiled files (.pyc, programs), which hold literal tokens but no assignments;
#: vendored: third-party and OS trees, whose docs, tests and self-tests are full of sample
#: values and keys: only token formats no sample would use (AKIA..., ghp_...) count there
Context = Literal["config", "data", "code", "binary", "vendored"]
EVERYWHERE = frozenset({"config", "data", "code", "binary", "vendored"})
TEXT = frozenset({"config", "data", "code"})


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    pattern: re.Pattern[str]
    #: where the rule applies (see Context)
    contexts: frozenset[str] = EVERYWHERE
    #: the rule only runs on text containing one of these (lowercased text
    #: when `hints_lower`): a substring test is far cheaper than the regex
    hints: tuple[str, ...] = ()
    hints_lower: bool = False
    #: characters that must not come right before the secret. Checked in code, not
    #: by a lookbehind: a pattern that starts with its literal prefix is found by
    #: the regex engine's fast literal search (measured: 50 times faster on binaries)
    not_after: frozenset[str] = frozenset()
    #: bits per character the random part (group `body`, else the secret) must
    #: reach: `sk_live_xxxxxxxx...` in docs is not a key
    min_entropy: float = 0.0
    #: (chars before, chars after) a hint that a match can reach, for rules
    #: whose match may hold spaces or short values: on long texts they run
    #: only on windows around their hints. Rules without it (the token
    #: formats) run only around runs of RUN_LENGTH token characters.
    window: tuple[int, int] | None = None
    #: for formats that carry a checksum: False drops the match. A value whose
    #: checksum fails was never issued (a typo, a truncation, a made-up sample),
    #: so it cannot authenticate, and reporting it would only be noise
    checksum: Callable[[str], bool] | None = None


@dataclass(frozen=True)
class SecretMatch:
    rule: Rule
    secret: str = field(repr=False)  # never shown, not even in a failing test's locals
    start: int = 0
    end: int = 0

    @property
    def masked(self) -> str:
        return mask(self.secret)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.secret)


def mask(secret: str) -> str:
    """`AKIA****MPLE`: enough to recognise a value, never enough to use it."""
    secret = "".join(secret.split())
    if len(secret) >= 20:  # at most 8 characters of 20 (AKIA key ids: the fixed prefix and 4)
        return f"{secret[:4]}****{secret[-4:]}"
    if len(secret) >= 12:
        return f"{secret[:2]}****"
    return "****"


def redact(text: str, matches: Iterable[SecretMatch]) -> str:
    """`text` with every matched secret replaced by its masked form."""
    out, last = [], 0
    for match in sorted(matches, key=lambda m: m.start):
        out.append(text[last : match.start])
        out.append(match.masked)
        last = match.end
    out.append(text[last:])
    return "".join(out)


# `|2 A=x B=y /bin/sh -c ...` (legacy builder) or `RUN |2 A=x B=y /bin/sh -c ... # buildkit`
_BUILD_ARGS = re.compile(r"^(?P<prefix>(?:RUN )?)\|(?P<count>\d+) ")
_SHELL = re.compile(r" (?=/bin/(?:ba|da)?sh -c )")
_ARG_KEY = re.compile(r"(?:^| )(?P<key>[A-Za-z_][A-Za-z0-9_]*)=")


def redact_step(text: str) -> str:
    """A history step (`docker history`'s CREATED BY) fit to print: the
    build-arg values a RUN saw are masked whatever they look like (values are
    recorded unquoted, spaces and all), and anything a rule finds in the rest."""
    match = _BUILD_ARGS.match(text)
    if not match:
        return redact(text, find_secrets(text, "config"))
    count, body = int(match["count"]), text[match.end() :]
    shell = _SHELL.search(body)
    if shell:
        args, rest = body[: shell.start()], body[shell.start() :]
    else:  # an exec-form RUN: assume one word per argument
        words = body.split(" ", count)
        args, rest = " ".join(words[:count]), (" " + words[count] if len(words) > count else "")
    keys = list(_ARG_KEY.finditer(args))
    shown = []
    for i, key in enumerate(keys):
        value = args[key.end() : keys[i + 1].start() if i + 1 < len(keys) else len(args)]
        shown.append(f"{key['key']}={mask(value) if value else ''}")
    return f"{match['prefix']}|{count} {' '.join(shown)}" + redact(rest, find_secrets(rest, "config"))


@functools.lru_cache(maxsize=1024)
def fingerprint(secret: str) -> str:
    """A stable hash of the value, for allowlisting it without writing it down.
    Deliberately slow (PBKDF2, 100k rounds): it is printed in CI logs, and a
    fast hash of a weak password could be reversed with a word list."""
    value = "".join(secret.split()).encode()
    return hashlib.pbkdf2_hmac("sha256", value, b"pytest-lambda-image fingerprint v1", 100_000)[:8].hex()


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values()) if value else 0.0


_PLACEHOLDER_WORDS = {
    "changeme", "change_me", "change-me", "example", "placeholder", "dummy", "redacted", "secret", "password",
    "passwd", "token", "none", "null", "nil", "true", "false", "test", "testing", "undefined", "empty", "string",
    "value", "default", "required", "optional", "notset", "unset", "todo", "fixme", "sample", "fake", "mock",
}  # fmt: skip
_BASE64ISH = re.compile(r"[A-Za-z0-9+/=]{32,}")
_REFERENCE = re.compile(r"^(?:\$|%\(|\{\{|<|\[|arn:|ssm:|secretsmanager:|resolve:|env:|file:|/)")


def is_placeholder(value: str) -> bool:
    """Values that stand for a secret rather than being one: `${TOKEN}`,
    `<your-token>`, `changeme`, `xxxxxxxx`, ARNs and file paths, AWS's
    documented EXAMPLE keys."""
    stripped = value.strip().strip("'\"")
    lowered = stripped.lower()
    if not stripped or "example" in lowered:
        return True
    # A long base64 value can start with "/" (1 AWS secret key in 64 does): not a path.
    if _REFERENCE.match(stripped) and not _BASE64ISH.fullmatch(stripped):
        return True
    if lowered in _PLACEHOLDER_WORDS or lowered.startswith(("your", "my-", "my_", "insert", "replace", "dummy")):
        return True
    if len(set(lowered)) <= 2:  # xxxxxxxx, ********, 00000000, abababab
        return True
    return bool(re.fullmatch(r"[*x.\-_]+", lowered))


def _strong(value: str) -> bool:
    """For generic assignments in code: high entropy, letters and digits."""
    return (
        len(value) >= 16
        and entropy(value) >= 3.5
        and bool(re.search(r"\d", value))
        and bool(re.search("[A-Za-z]", value))
    )


# Bounded on purpose: an unbounded name part rescans long runs of name
# characters from every start position (seconds per 50 KB of `token_token_...`).
_SECRET_NAME = r"[A-Za-z0-9_.-]{0,64}?(?:token|secret|password|passwd|api_?key|private_?key)(?:_[A-Za-z0-9]+){0,8}"
# The name part ends with words that point at a secret rather than hold one.
_REFERENCE_SUFFIX = re.compile(
    r"(?i)_(?:arn|name|id|ids|path|file|url|uri|endpoint|header|type|param|parameter|length|ttl|expiry|expiration|"
    r"field|location|dir|enabled|size|version|prefix|region|key_id|policy|rotation|kms_key)$"
)

_PLAIN_WORD = re.compile(r"[A-Za-z]+(?:[-_][A-Za-z]+)?")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "host.docker.internal"}

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62_crc32(text: str) -> str:
    """CRC32 of `text` in base62 (0-9, A-Z, a-z), six characters, zero-padded:
    the checksum GitHub (2021) and npm tokens end with."""
    value, digits = binascii.crc32(text.encode()), []
    for _ in range(6):
        value, digit = divmod(value, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits))


def _checksum_ok(token: str) -> bool:
    """`ghp_`/`npm_` + 30 random characters + base62 CRC32 of those 30 (the
    prefix is not part of the sum). Only that 36-character body has the
    documented checksum; longer GitHub App tokens are judged by format alone."""
    body = token.split("_", 1)[1]
    return len(body) != 36 or base62_crc32(body[:30]) == body[30:]


_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_WORD_DASH = _ALNUM | {"_", "-"}

RULES: tuple[Rule, ...] = (
    Rule(
        "private-key",
        "PEM private key",
        re.compile(
            r"-----BEGIN (?:(?:RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY(?: BLOCK)?-----"
            # headers such as Proc-Type, then the body; lines end in real or escaped
            # ("\\n", as in JSON service-account files) newlines
            r"(?:(?:\r?\n|\\n)[A-Za-z-]{1,40}:(?:[^\n\\]|\\(?!n)){0,200}){0,8}(?:\s|\\n){0,4}"
            r"(?P<secret>(?:[A-Za-z0-9+/=\r\n]|\\n){64,20000})"
        ),
        contexts=TEXT | {"binary"},
        hints=("PRIVATE KEY",),
        window=(48, 2_000 + 20_000 + 64),  # the header, up to 8 header lines, the body
    ),
    Rule(
        "aws-access-key-id",
        "AWS access key id",
        re.compile(r"(?<![A-Za-z0-9])(?P<secret>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})(?![A-Za-z0-9])"),
        hints=("AKIA", "ASIA", "ABIA", "ACCA"),
    ),
    Rule(
        "aws-secret-access-key",
        "AWS secret access key",
        re.compile(
            r"(?i)(?:aws[_-]?secret[_-]?access[_-]?key|aws[_-]?secret[_-]?key|secret[_-]?access[_-]?key)"
            r"[\"']?(?:[ \t]*[:=]|[ \t])[ \t]*"
            r"[\"']?(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
        contexts=TEXT | {"vendored"},
        hints=("secret_access_key", "secretaccesskey", "secret_key", "secretkey", "secret-access-key", "secret-key"),
        hints_lower=True,
    ),
    Rule(
        "aws-session-token",
        "AWS session token",
        re.compile(
            r"(?i)(?:aws_?session_?token|aws_?security_?token|session_?token)[\"']?(?:[ \t]*[:=]|[ \t])[ \t]*"
            r"[\"']?(?P<secret>[A-Za-z0-9/+=]{100,})"
        ),
        contexts=TEXT | {"vendored"},
        hints=("session_token", "sessiontoken", "security_token", "securitytoken"),
        hints_lower=True,
    ),
    Rule(
        "github-token",
        "GitHub token",
        re.compile(r"(?<![A-Za-z0-9_])(?P<secret>gh[pousr]_[A-Za-z0-9]{36,251})(?![A-Za-z0-9_])"),
        hints=("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        checksum=_checksum_ok,
    ),
    Rule(
        "github-fine-grained-token",
        "GitHub fine-grained personal access token",
        re.compile(r"(?<![A-Za-z0-9_])(?P<secret>github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})(?![A-Za-z0-9_])"),
        hints=("github_pat_",),
    ),
    # Provider tokens: fixed prefixes and formats, found wherever they appear
    # (not only when assigned to a *_TOKEN name), random enough to be real.
    Rule(
        "stripe-secret-key",
        "Stripe live secret or restricted key",
        re.compile(r"(?<![A-Za-z0-9_])(?P<secret>[sr]k_live_(?P<body>[0-9A-Za-z]{20,247}))(?![A-Za-z0-9_])"),
        hints=("k_live_",),
        min_entropy=3.5,
    ),
    Rule(
        "slack-token",
        "Slack token",
        re.compile(
            r"(?<![A-Za-z0-9_-])(?P<secret>(?:xox[abeoprs]|xapp)-(?P<body>[0-9A-Za-z][0-9A-Za-z.-]{14,250}[0-9A-Za-z]))"
            r"(?![A-Za-z0-9_-])"
        ),
        hints=("xox", "xapp-"),
        min_entropy=3.5,
    ),
    Rule(
        "slack-webhook",
        "Slack webhook URL",
        re.compile(
            r"(?P<secret>https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_-]{6,40}"
            r"(?:/[A-Za-z0-9_-]{6,80}){0,2}/(?P<body>[A-Za-z0-9_-]{16,80}))"
        ),
        hints=("hooks.slack.com/",),
        min_entropy=3.5,
    ),
    Rule(
        "gitlab-token",
        "GitLab token",
        re.compile(
            r"(?P<secret>gl(?:pat|ptt|dt|rt|cbt|ft|oas|imt|soat|agent)-(?P<body>[0-9A-Za-z_-]{20,64})"
            r"(?:\.[0-9A-Za-z_-]{2,64}){0,3})(?![A-Za-z0-9_.-])"
        ),
        not_after=_WORD_DASH,
        min_entropy=3.5,
    ),
    Rule(
        "google-api-key",
        "Google API key",
        re.compile(r"(?<![A-Za-z0-9_-])(?P<secret>AIza(?P<body>[0-9A-Za-z_-]{35}))(?![A-Za-z0-9_-])"),
        hints=("AIza",),
        min_entropy=3.5,
    ),
    Rule(
        "openai-api-key",
        "OpenAI API key",
        # "T3BlbkFJ" is "OpenAI" in base64: every key format carries it.
        re.compile(r"(?<![A-Za-z0-9_-])(?P<secret>sk-(?P<body>[A-Za-z0-9_-]{16,200})T3BlbkFJ[A-Za-z0-9_-]{16,200})(?![A-Za-z0-9_-])"),
        hints=("T3BlbkFJ",),
        min_entropy=3.5,
    ),
    Rule(
        "pypi-token",
        "PyPI API token",
        # a macaroon whose location is pypi.org ("AgEIcHlwaS5vcmc" in base64)
        re.compile(r"(?<![A-Za-z0-9_-])(?P<secret>pypi-AgE[A-Za-z0-9_-]{0,8}cHlwaS5vcmc(?P<body>[A-Za-z0-9_-]{50,1000}))"),
        hints=("cHlwaS5vcmc",),
        min_entropy=3.5,
    ),
    Rule(
        "npm-token",
        "npm access token",
        re.compile(r"(?<![A-Za-z0-9_])(?P<secret>npm_(?P<body>[A-Za-z0-9]{36}))(?![A-Za-z0-9_])"),
        hints=("npm_",),
        min_entropy=3.5,
        checksum=_checksum_ok,
    ),
    Rule(
        "twilio-api-key",
        "Twilio API key",
        re.compile(r"(?P<secret>SK(?P<body>[0-9a-f]{32}))(?![A-Za-z0-9])"),
        contexts=TEXT | {"vendored"},  # 34 hex-looking bytes turn up in compiled files by chance
        not_after=_ALNUM,
        min_entropy=3.5,
    ),
    Rule(
        "sendgrid-api-key",
        "SendGrid API key",
        re.compile(r"(?<![A-Za-z0-9_-])(?P<secret>SG\.[A-Za-z0-9_-]{22}\.(?P<body>[A-Za-z0-9_-]{43}))(?![A-Za-z0-9_-])"),
        hints=("SG.",),
        min_entropy=3.5,
    ),
    Rule(
        "url-password",
        "password in a URL",
        re.compile(
            r"(?<![A-Za-z0-9+.-])(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{0,30})://(?P<user>[^\s/:@'\"]{0,256}):"
            r"(?P<secret>[^\s/@'\"]{6,256})@(?P<host>[A-Za-z0-9.-]{1,253})"
        ),
        contexts=TEXT,
        hints=("://",),
        window=(40, 800),  # scheme, then user, password and host
    ),
    Rule(
        "generic-secret",
        "secret assigned to a *_TOKEN / *_SECRET / *PASSWORD name",
        re.compile(
            rf"(?i)(?<![A-Za-z0-9_.-])(?P<name>{_SECRET_NAME})[\"']?[ \t]*[:=][ \t]*[\"']?"
            r"(?P<secret>[^\s\"'`,;(){}\[\]<>]{6,512})(?=[\s\"'`,;]|$)"
        ),
        contexts=TEXT,
        hints=("token", "secret", "passw", "api_key", "apikey", "private_key", "privatekey"),
        hints_lower=True,
        window=(80, 1_200),  # the rest of the name (64), then suffixes and the value (512)
    ),
)
RULE_IDS = frozenset(rule.id for rule in RULES)


#: per text: a file with thousands of matches is one problem, and listing
#: (and fingerprinting) every one would only bury the report
MAX_MATCHES = 50


#: Every token-format rule (those without a `window`) matches at least this
#: many characters from RUN_CHARACTERS in a row, starting at most RUN_LEAD
#: characters before them (`aws_secret_access_key = `, `SG.`, a webhook's
#: `https:`) and ending at most RUN_TAIL after (a GitLab token's `.01.xxx`).
#: "." and ":" are left out: dotted names would make most code one long run.
RUN_LENGTH = 20
RUN_LEAD = 256
RUN_TAIL = 80
_RUN_CHARACTERS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+/=")
_RUN_TABLE = bytes(1 if i in _RUN_CHARACTERS else 0 for i in range(256))
_RUN = b"\x01" * RUN_LENGTH
#: shorter texts are searched whole: a view costs more than it saves there
_WHOLE_BELOW = 4096


class _View:
    """Pieces of a long text, joined by NUL (in no rule's alphabet), each led
    by the character that precedes it in the text so that look-behinds see
    what they would see there; a match starting on that character is not the
    text's and is dropped. Rules run on the view instead of the whole text."""

    def __init__(self, text: str | bytes, spans: list[tuple[int, int]]) -> None:
        pieces: list[str] = []
        self.starts: list[int] = []  # where each piece (after its lead) begins in the view
        self.origins: list[int] = []  # and in the text
        at = 0
        for start, end in spans:
            piece = text[max(start - 1, 0) : end]
            if isinstance(piece, bytes):
                piece = piece.decode("latin-1")
            pieces.append("\0" + (piece if start else "\0" + piece))
            self.starts.append(at + 2)
            self.origins.append(start)
            at += 2 + end - start
        self.text = "".join(pieces)
        self._lowered: str | None = None

    @property
    def lowered(self) -> str:
        if self._lowered is None:
            self._lowered = self.text.lower()
        return self._lowered

    def origin(self, start: int, end: int) -> int | None:
        """Where the view's span start:end is in the text; None when it starts
        on a lead or runs across a separator (no such span is in the text)."""
        piece = bisect.bisect_right(self.starts, start) - 1
        if piece < 0 or (piece + 1 < len(self.starts) and end > self.starts[piece + 1] - 2):
            return None
        return self.origins[piece] + start - self.starts[piece]


def _merge(spans: Iterable[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        start, end = max(start, 0), min(end, size)
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _run_spans(text: str | bytes) -> list[tuple[int, int]]:
    """Runs of RUN_LENGTH or more token characters, with their lead: found at
    C speed on a translated copy (1 for a token character, 0 otherwise)."""
    raw = text if isinstance(text, bytes) else text.encode("latin-1", "replace")
    flags = raw.translate(_RUN_TABLE)
    spans = []
    at = flags.find(_RUN)
    while at != -1:
        end = flags.find(b"\0", at + RUN_LENGTH)
        end = len(flags) if end == -1 else end
        spans.append((at - RUN_LEAD, end + RUN_TAIL))
        at = flags.find(_RUN, end)
    return _merge(spans, len(text))


def _hint_spans(haystack: str | bytes, hints: tuple[str, ...], window: tuple[int, int]) -> list[tuple[int, int]]:
    before, after = window
    spans = []
    for hint in hints:
        find = haystack.find
        needle: Any = hint.encode() if isinstance(haystack, bytes) else hint
        at = find(needle)
        while at != -1:
            spans.append((at - before, at + after))
            at = find(needle, at + 1)
    return _merge(spans, len(haystack))


def find_secrets(
    text: str | bytes, context: Context = "config", *, shared: dict[str, object] | None = None
) -> list[SecretMatch]:
    """Every secret in `text`, most specific rule first; a span claimed by one
    rule is not reported again by a vaguer one. A long text is not searched
    whole by every rule: token formats only where a run of token characters
    is, the others only around their hints (see Rule.window). Bytes are read
    as latin-1, decoded only where a rule looks (most of a binary is not)."""
    if isinstance(text, bytes) and len(text) < _WHOLE_BELOW:
        text = text.decode("latin-1")
    found: list[SecretMatch] = []
    starts: list[int] = []  # found, sorted by start, for a bisect overlap test
    found_by_start: list[SecretMatch] = []
    # `shared`: what one text's calls in several contexts compute once
    shared = {} if shared is None else shared
    lowered: str | bytes | None = shared.get("lowered")  # type: ignore[assignment]
    whole = len(text) < _WHOLE_BELOW
    for rule in RULES:
        if context not in rule.contexts:
            continue
        view: _View | None = None  # dropped before the next is built: one rule's view in memory at a time
        if whole:
            assert isinstance(text, str)
            if rule.hints_lower:
                lowered = text.lower() if lowered is None else lowered
            whole_haystack = lowered if rule.hints_lower and isinstance(lowered, str) else text
            if rule.hints:
                for hint in rule.hints:  # a plain loop: this runs per rule per file, tens of thousands of times
                    if hint in whole_haystack:
                        break
                else:
                    continue
        else:
            view = _view_for(rule, text, shared)
            if view is None:
                continue
        matches = _matches(rule, view.text if view is not None else text, context)  # type: ignore[arg-type]
        if not _claim(matches, view, found, starts, found_by_start):
            break
    return sorted(found, key=lambda m: m.start)


def _view_for(rule: Rule, text: str | bytes, shared: dict[str, object]) -> _View | None:
    """The pieces of a long text `rule` runs on: for a token format the runs
    of token characters (None: no run is long enough, or none holds its
    hint), for another rule the windows around its hints. The runs and the
    lowered text are made once, by the first rule that needs them, and kept in
    `shared` for the other rules and the text's other contexts."""
    if rule.window is None:  # a token format: only where token characters run long enough
        runs: _View | None = shared.get("runs")  # type: ignore[assignment]
        if runs is None:
            runs = shared["runs"] = _View(text, _run_spans(text))
        if not runs.text:
            return None  # no run long enough for any token format
        view_haystack = runs.lowered if rule.hints_lower else runs.text
        if rule.hints:
            for hint in rule.hints:
                if hint in view_haystack:
                    break
            else:
                return None
        return runs
    lowered: str | bytes | None = shared.get("lowered")  # type: ignore[assignment]
    if rule.hints_lower and lowered is None:
        lowered = shared["lowered"] = text.lower()
    haystack = lowered if rule.hints_lower and lowered is not None else text
    return _View(text, _hint_spans(haystack, rule.hints, rule.window))


def _claim(
    matches: Iterable[SecretMatch],
    view: _View | None,
    found: list[SecretMatch],
    starts: list[int],
    found_by_start: list[SecretMatch],
) -> bool:
    """Add to `found` (and to `starts` and `found_by_start`, kept sorted by
    start) each of one rule's matches that overlaps none found before (the
    rules run most specific first); a match in a view is moved to where it is
    in the text. False: MAX_MATCHES are found and another came: stop looking."""
    for match in matches:
        if view is not None:
            origin = view.origin(match.start, match.end)
            if origin is None:
                continue
            match = replace(match, start=origin, end=origin + match.end - match.start)
        if len(found) >= MAX_MATCHES:
            return False
        at = bisect.bisect_left(starts, match.start)
        spans = found_by_start[at - 1 : at + 1] if at else found_by_start[:1]
        if not any(match.start < other.end and other.start < match.end for other in spans):
            starts.insert(at, match.start)
            found_by_start.insert(at, match)
            found.append(match)
    return True


def _matches(rule: Rule, text: str, context: Context) -> Iterator[SecretMatch]:
    for m in rule.pattern.finditer(text):
        secret = m.group("secret")
        if rule.not_after and m.start("secret") and text[m.start("secret") - 1] in rule.not_after:
            continue
        if is_placeholder(secret):
            continue
        if rule.min_entropy and entropy(m.groupdict().get("body") or secret) < rule.min_entropy:
            continue
        if rule.checksum is not None and not rule.checksum(secret):
            continue
        if rule.id == "generic-secret":
            if _REFERENCE_SUFFIX.search(m.group("name")) or secret.startswith("-----"):
                continue  # a pointer to a secret, or a PEM block the private-key rule judges
            if context == "code" and not _strong(secret):
                continue
            if context == "data" and _PLAIN_WORD.fullmatch(secret):
                continue  # "token": "Bearer", "input_token": "nextToken"
        elif rule.id == "url-password":
            if secret == m.group("user") or m.group("host").lower() in _LOCAL_HOSTS:
                continue  # postgres://postgres:postgres@localhost and other dev defaults
        yield SecretMatch(rule, secret, m.start("secret"), m.end("secret"))


# -- well-known credential files ------------------------------------------------


@dataclass(frozen=True)
class FileRule:
    id: str
    description: str
    matches_path: Callable[[str], bool]
    #: the secret inside; None: the file is a credential by itself (a private key file)
    pattern: re.Pattern[str] | None


def _ends_with(*suffixes: str) -> Callable[[str], bool]:
    return lambda path: path.endswith(suffixes)


def _named(*names: str) -> Callable[[str], bool]:
    return lambda path: posixpath.basename(path) in names


FILE_RULES: tuple[FileRule, ...] = (
    FileRule(
        "aws-credentials-file",
        "AWS shared credentials",
        _ends_with("/.aws/credentials", "/.aws/config"),
        re.compile(r"(?im)^[ \t]*(?:aws_secret_access_key|aws_session_token)[ \t]*=[ \t]*(?P<secret>\S+)"),
    ),
    FileRule(
        "npmrc-auth",
        "npm registry auth token",
        _named(".npmrc", "npmrc"),
        re.compile(r"(?im)(?:_authToken|_auth|_password)[ \t]*=[ \t]*[\"']?(?P<secret>[^\s\"']+)"),
    ),
    FileRule(
        "pypirc-password",
        "PyPI upload password",
        _named(".pypirc"),
        re.compile(r"(?im)^[ \t]*password[ \t]*[=:][ \t]*(?P<secret>\S+)"),
    ),
    FileRule(
        "git-credentials",
        "git credential store",
        _ends_with("/.git-credentials", "/git/credentials"),
        re.compile(r"(?im)^[ \t]*[a-z][a-z0-9+.-]*://[^\s:/@]*:(?P<secret>[^\s@]+)@"),
    ),
    FileRule(
        "netrc-password",
        "netrc password",
        _named(".netrc", "_netrc"),
        re.compile(r"(?i)\bpassword[ \t]+(?P<secret>\S+)"),
    ),
    FileRule(
        "docker-config-auth",
        "Docker registry credentials",
        _ends_with("/.docker/config.json"),
        re.compile(r"\"(?:auth|identitytoken|registrytoken)\"\s*:\s*\"(?P<secret>[^\"]{4,})\""),
    ),
    FileRule(
        "ssh-private-key-file",
        "SSH private key file",
        _named("id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk"),
        None,
    ),
)


def file_rules_for(path: str) -> list[FileRule]:
    return [rule for rule in FILE_RULES if rule.matches_path(path)]


def find_in_credential_file(rule: FileRule, text: str) -> list[SecretMatch]:
    as_rule = Rule(rule.id, rule.description, rule.pattern or re.compile(r"(?s)(?P<secret>\S.*\S)"))
    return [m for m in _matches(as_rule, text, "config")]


_ENV_FILES = re.compile(r"^\.env(?:\.[a-z]+)?$|\.env$|^(?:dockerfile|makefile|procfile)$|\.sh$")
_EXAMPLES = re.compile(r"\.(?:example|sample|template|dist|tmpl)$")
_DATA_SUFFIXES = (".ini", ".cfg", ".conf", ".properties", ".yaml", ".yml", ".toml", ".json")
#: Third-party, runtime and OS trees: vendored docs and tests are full of
#: sample assignments, so only the unambiguous token formats apply there.
_VENDORED = re.compile(
    r"/(?:site-packages|dist-packages|node_modules|vendor|gems)/|^/usr/(?:share|lib|include)/|^/var/(?:runtime|lang)/"
)


# The function's own trees: a file in a site-packages here is third-party only
# when an installed distribution's RECORD lists it (the caller says so with
# `vendored`); first-party code copied into a layer's site-packages is not.
_FIRST_PARTY_PIP_TREE = re.compile(r"^/(?:opt|var/task)/.*/(?:site|dist)-packages/")


def context_for(path: str, vendored: bool = False) -> Context:
    """How strictly to read a file, by where it is and what it is named.
    `vendored`: the caller knows it was installed by a package manager."""
    if vendored or (_VENDORED.search(path) and not _FIRST_PARTY_PIP_TREE.match(path)):
        return "vendored"
    name = posixpath.basename(path).lower()
    if _EXAMPLES.search(name):
        return "code"  # .env.example documents variables; only random-looking values count
    if _ENV_FILES.search(name):
        return "config"
    if name.endswith(_DATA_SUFFIXES):
        return "data"
    return "code"
