#!/usr/bin/env python3
"""Whether a binary carries cargo auditable's dependency list: prints `present`, `absent` (an ELF
file without the `.dep-v0` section) or `not-elf` (Mach-O, PE, a script: not checked here). Read
from the ELF section headers, which `strip` keeps; 64-bit little-endian only (every Linux target
wrkr ships). Exit 2 when the file cannot be read or its headers run past its end.
Usage: auditable_section.py BINARY
"""
import struct
import sys

SECTION = b".dep-v0"


def verdict(data):
    if data[:4] != b"\x7fELF" or len(data) < 0x40 or data[4] != 2 or data[5] != 1:
        return "not-elf"
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)

    def header(i):
        # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size
        return struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)

    names_at, names_size = header(shstrndx)[4:6]
    names = data[names_at:names_at + names_size]
    found = any(names[header(i)[0]:].split(b"\0", 1)[0] == SECTION for i in range(shnum))
    return "present" if found else "absent"


def main(argv):
    if len(argv) != 1:
        print(__doc__.rstrip().splitlines()[-1], file=sys.stderr)
        return 2
    try:
        with open(argv[0], "rb") as f:
            print(verdict(f.read()))
    except (OSError, struct.error) as err:
        print(f"auditable-section: {argv[0]}: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
