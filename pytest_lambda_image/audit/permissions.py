"""Who may read or run a file in the image, judged as Lambda's runtime user.

Lambda runs functions and extensions as a non-root user (uid 993, gid 990),
so a root-owned 0700 file is out of reach however it looks in `docker run`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._lambda import LAMBDA_GID, LAMBDA_UID
from .filesystem import FileEntry, ImageFilesystem

READ, WRITE, EXECUTE = 4, 2, 1


@dataclass(frozen=True)
class User:
    uid: int = LAMBDA_UID
    gid: int = LAMBDA_GID

    def may(self, entry: FileEntry, bits: int) -> bool:
        """The kernel's rule: owner bits if we own it, else group bits if our
        group owns it, else the "other" bits. Root is not special here, since
        Lambda never runs as root."""
        if entry.uid == self.uid:
            granted = entry.mode >> 6
        elif entry.gid == self.gid:
            granted = entry.mode >> 3
        else:
            granted = entry.mode
        return granted & bits == bits


LAMBDA_USER = User()


def access_problem(fs: ImageFilesystem, path: str, bits: int, user: User = LAMBDA_USER) -> str | None:
    """Why `user` cannot open `path` with `bits`, or None when it can: every
    directory the kernel searches on the way needs search (x) permission too,
    those a symlink leads through included (/bin -> usr/bin searches /usr)."""
    target, searched = fs.traverse(path)
    for directory in searched:
        if not user.may(directory, EXECUTE):
            return f"directory {directory.path} ({directory.describe()}) cannot be entered by uid {user.uid}"
    if target is None:
        return f"{path} does not exist"
    if not user.may(target, bits):
        return f"{path} ({target.describe()}) cannot be {'/'.join(_past(bits))} by uid {user.uid}"
    return None


def _past(bits: int) -> list[str]:
    return [word for flag, word in ((READ, "read"), (EXECUTE, "executed")) if bits & flag]


__all__ = ["LAMBDA_GID", "LAMBDA_UID", "LAMBDA_USER", "READ", "EXECUTE", "User", "access_problem"]
