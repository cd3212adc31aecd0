"""Just enough of the ELF format to tell which CPU a binary is for and which
program interpreter (dynamic loader) it needs."""

from __future__ import annotations

import struct
from dataclasses import dataclass

MAGIC = b"\x7fELF"
PT_INTERP = 3

#: e_machine values for the CPUs a container image is likely to carry
MACHINES = {
    3: "i386",
    8: "mips",
    20: "ppc",
    21: "ppc64",
    22: "s390x",
    40: "arm",
    62: "x86_64",
    183: "aarch64",
    243: "riscv",
}
#: what each OCI architecture runs natively
ARCHITECTURE_MACHINE = {"amd64": "x86_64", "arm64": "aarch64"}


@dataclass(frozen=True)
class ElfInfo:
    machine: str  # "x86_64", "aarch64", ... or "machine 1234"
    bits: int
    interpreter: str | None  # e.g. /lib64/ld-linux-x86-64.so.2; None for static binaries


def parse_elf(head: bytes) -> ElfInfo | None:
    """ELF facts from the start of a file (the first few KiB hold the program
    headers of any normal binary). None when it is not ELF."""
    if len(head) < 52 or not head.startswith(MAGIC):
        return None
    bits = {1: 32, 2: 64}.get(head[4])
    order = {1: "<", 2: ">"}.get(head[5])
    if bits is None or order is None:
        return None
    (machine_id,) = struct.unpack_from(order + "H", head, 18)
    machine = MACHINES.get(machine_id, f"machine {machine_id}")
    return ElfInfo(machine=machine, bits=bits, interpreter=_interpreter(head, bits, order))


def _interpreter(head: bytes, bits: int, order: str) -> str | None:
    try:
        if bits == 64:
            (phoff,) = struct.unpack_from(order + "Q", head, 0x20)
            phentsize, phnum = struct.unpack_from(order + "HH", head, 0x36)
        else:
            (phoff,) = struct.unpack_from(order + "I", head, 0x1C)
            phentsize, phnum = struct.unpack_from(order + "HH", head, 0x2A)
        for i in range(phnum):
            at = phoff + i * phentsize
            (p_type,) = struct.unpack_from(order + "I", head, at)
            if p_type != PT_INTERP:
                continue
            if bits == 64:
                offset, _, _, size = struct.unpack_from(order + "QQQQ", head, at + 8)
            else:
                offset, _, _, size = struct.unpack_from(order + "IIII", head, at + 4)
            return head[offset : offset + size].split(b"\0", 1)[0].decode("utf-8", "replace") or None
    except struct.error:  # headers beyond what we read: treat as static
        return None
    return None
