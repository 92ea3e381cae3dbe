#!/bin/bash
# add TARBALL: tree at the top, one directory down, or DKMS mktarball's dkms_source_tree/;
# a tarball escaping its directory is refused and leaves nothing behind.
source "$(dirname "$0")/../lib/lib-test.sh"
install_kernels "$KNEW"
mkmod "$T/w/kmbt_tar-1.0" kmbt_tar 1.0
tar -C "$T/w" -czf "$T/nested.tar.gz" kmbt_tar-1.0
kmb add "$T/nested.tar.gz" >/dev/null
assert_file "$ROOT/usr/src/kmbt_tar-1.0/dkms.conf"
kmb install kmbt_tar -k "$KNEW" >/dev/null
assert_file "$ROOT/lib/modules/$KNEW/extra/kmbt_tar.ko"

mkmod "$T/w2/dkms_source_tree" kmbt_tar2 2.0
tar -C "$T/w2" -cJf "$T/dkms.tar.xz" dkms_source_tree
kmb add "$T/dkms.tar.xz" >/dev/null
assert_contains "$(kmb status kmbt_tar2)" "kmbt_tar2/2.0: added"

mkmod "$T/w3" kmbt_tar3 3.0
tar -C "$T/w3" -cf "$T/flat.tar" .
kmb add "$T/flat.tar" >/dev/null
assert_contains "$(kmb status kmbt_tar3)" "kmbt_tar3/3.0: added"

snapshot() { (cd "$ROOT" && find . | sort); }
before=$(snapshot)
# '..' entry
python3 - "$T/evil.tar" <<'EOP'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    data = b'PACKAGE_NAME=evil\nPACKAGE_VERSION=1\nBUILT_MODULE_NAME[0]=evil\nDEST_MODULE_LOCATION[0]=/extra\n'
    i = tarfile.TarInfo("evil/dkms.conf"); i.size = len(data); t.addfile(i, io.BytesIO(data))
    j = tarfile.TarInfo("evil/../../../../../tmp/kmbt-escaped"); j.size = 3; t.addfile(j, io.BytesIO(b"bad"))
EOP
expect_rc 8 kmb add "$T/evil.tar"
assert_contains "$OUT" "evil.tar"
assert_no_file /tmp/kmbt-escaped
# symlink escaping, then a file written through it
python3 - "$T/evil2.tar" <<'EOP'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    l = tarfile.TarInfo("evil2/link"); l.type = tarfile.SYMTYPE; l.linkname = "/etc"; t.addfile(l)
    i = tarfile.TarInfo("evil2/link/kmbt-pwned"); i.size = 1; t.addfile(i, io.BytesIO(b"x"))
EOP
expect_rc 8 kmb add "$T/evil2.tar"
assert_no_file /etc/kmbt-pwned
# not an archive at all
echo "garbage" >"$T/garbage.tar.gz"
expect_rc 8 kmb add "$T/garbage.tar.gz"
[ "$(snapshot)" = "$before" ] || fail "state changed by a rejected tarball: $(diff <(echo "$before") <(snapshot))"
echo ok
