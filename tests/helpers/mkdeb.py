#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write a .deb by hand (ar + control.tar.xz + data.tar.xz), with any entries at all, including
the hostile ones dpkg-deb would refuse to build: absolute paths, '..', escaping symlinks.

Usage: mkdeb.py OUT.deb PACKAGE VERSION ENTRY...
  ENTRY is d:PATH (directory), f:PATH[:TEXT] (file), x:PATH (executable file),
  l:PATH:TARGET (symlink), h:PATH:TARGET (hard link). PATH goes into data.tar as given.
"""
import io
import sys
import tarfile
import time


def tar_xz(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz", format=tarfile.GNU_FORMAT) as t:
        for info, data in members:
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def info(name, kind, mode=0o644, size=0, link=""):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.size = size
    ti.linkname = link
    ti.mtime = int(time.time())
    ti.uname = ti.gname = "root"
    return ti


def ar_member(name, data):
    hdr = "%-16s%-12d%-6d%-6d%-8s%-10d`\n" % (name, int(time.time()), 0, 0, "100644", len(data))
    assert len(hdr) == 60
    return hdr.encode() + data + (b"\n" if len(data) % 2 else b"")


def main():
    out, pkg, ver = sys.argv[1:4]
    data = []
    for spec in sys.argv[4:]:
        kind, _, rest = spec.partition(":")
        if kind == "d":
            data.append((info(rest, tarfile.DIRTYPE, 0o755), None))
        elif kind in ("f", "x"):
            path, _, text = rest.partition(":")
            body = (text or "x") .encode() + b"\n"
            data.append((info(path, tarfile.REGTYPE, 0o755 if kind == "x" else 0o644,
                              len(body)), body))
        elif kind in ("l", "h"):
            path, _, target = rest.partition(":")
            data.append((info(path, tarfile.SYMTYPE if kind == "l" else tarfile.LNKTYPE,
                              0o777, 0, target), None))
        else:
            sys.exit("bad entry " + spec)
    control = ("Package: %s\nVersion: %s\nArchitecture: amd64\nMaintainer: t <t@test.invalid>\n"
               "Description: kmbuild test package\n" % (pkg, ver)).encode()
    ctl = tar_xz([(info("./control", tarfile.REGTYPE, 0o644, len(control)), control)])
    with open(out, "wb") as f:
        f.write(b"!<arch>\n")
        f.write(ar_member("debian-binary", b"2.0\n"))
        f.write(ar_member("control.tar.xz", ctl))
        f.write(ar_member("data.tar.xz", tar_xz(data)))


if __name__ == "__main__":
    main()
