"""Made-up credentials in the shapes real ones have. Built at run time from
a seed, so the repository itself holds nothing a secret scanner would flag."""

from __future__ import annotations

import hashlib
import string

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


def github_token(seed: str = "g") -> str:
    return "ghp_" + _draw(seed, 36, _ALNUM)


def github_fine_grained(seed: str = "f") -> str:
    return "github_pat_" + _draw(seed, 22, _ALNUM) + "_" + _draw(seed + "2", 59, _ALNUM)


def password(seed: str = "p") -> str:
    return _draw(seed, 14, _ALNUM)


def private_key(seed: str = "k") -> str:
    body = _draw(seed, 64 * 12, _BASE64)
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN RSA PRIVATE KEY-----\n{lines}\n-----END RSA PRIVATE KEY-----\n"
