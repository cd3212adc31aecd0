"""Made-up credentials in the shapes real ones have. Built at run time from
a seed, so the repository itself holds nothing a secret scanner would flag."""

from __future__ import annotations

import hashlib
import string
import zlib

_BASE32 = string.ascii_uppercase + "234567"
_ALNUM = string.ascii_letters + string.digits
_BASE64 = _ALNUM + "+/"


def _draw(seed: str, length: int, alphabet: str) -> str:
    out, counter = [], 0
    while len(out) < length:
        digest = hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        out.extend(alphabet[b % len(alphabet)] for b in digest)
        counter += 1
    return "".join(out[:length])


def access_key_id(seed: str = "a") -> str:
    return "AKIA" + _draw(seed, 16, _BASE32)


def secret_access_key(seed: str = "s") -> str:
    return _draw(seed, 40, _BASE64)


def session_token(seed: str = "t") -> str:
    return "IQoJb3JpZ2luX2Vj" + _draw(seed, 340, _BASE64)


_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def with_checksum(prefix: str, body: str) -> str:
    """GitHub's and npm's token format: prefix, 30 random characters, then
    the CRC32 of those 30 in six base62 digits (computed here, at run time)."""
    crc, digits = zlib.crc32(body.encode()), ""
    while len(digits) < 6:
        crc, digit = divmod(crc, 62)
        digits = _BASE62[digit] + digits
    return prefix + body + digits


def github_token(seed: str = "g") -> str:
    return with_checksum("ghp_", _draw(seed, 30, _ALNUM))


def github_fine_grained(seed: str = "f") -> str:
    return "github_pat_" + _draw(seed, 22, _ALNUM) + "_" + _draw(seed + "2", 59, _ALNUM)


def password(seed: str = "p") -> str:
    return _draw(seed, 14, _ALNUM)


def private_key(seed: str = "k") -> str:
    body = _draw(seed, 64 * 12, _BASE64)
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN RSA PRIVATE KEY-----\n{lines}\n-----END RSA PRIVATE KEY-----\n"


_HEX = "0123456789abcdef"
_URLSAFE = _ALNUM + "-_"


def provider_tokens(seed: str = "p") -> dict[str, str]:
    """One made-up token per provider rule, by rule id."""
    return {
        "stripe-secret-key": "sk_" + "live_" + _draw(seed + "st", 24, _ALNUM),
        "stripe-restricted": "rk_" + "live_" + _draw(seed + "rk", 24, _ALNUM),
        "slack-token": "xox" + "b-" + _draw(seed + "1", 12, "0123456789") + "-" + _draw(seed + "2", 13, "0123456789")
        + "-" + _draw(seed + "sl", 24, _ALNUM),
        "slack-webhook": "https://hooks.slack.com/services/T" + _draw(seed + "t", 10, _BASE32) + "/B"
        + _draw(seed + "b", 10, _BASE32) + "/" + _draw(seed + "w", 24, _ALNUM),
        "gitlab-token": "gl" + "pat-" + _draw(seed + "gl", 20, _URLSAFE),
        "google-api-key": "AI" + "za" + _draw(seed + "go", 35, _URLSAFE),
        "openai-api-key": "sk-" + "proj-" + _draw(seed + "o1", 40, _URLSAFE) + "T3Blbk" + "FJ"
        + _draw(seed + "o2", 40, _URLSAFE),
        "pypi-token": "pypi-" + "AgEIcHlwaS5vcmc" + _draw(seed + "py", 120, _URLSAFE),
        "npm-token": with_checksum("npm" + "_", _draw(seed + "np", 30, _ALNUM)),
        "twilio-api-key": "S" + "K" + _draw(seed + "tw", 32, _HEX),
        "sendgrid-api-key": "S" + "G." + _draw(seed + "s1", 22, _URLSAFE) + "." + _draw(seed + "s2", 43, _URLSAFE),
    }
