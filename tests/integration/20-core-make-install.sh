#!/bin/bash
# make install DESTDIR=... PREFIX=...: binary, man page, bash completion, config, templates,
# all under DESTDIR; the installed binary runs.
source "$(dirname "$0")/../lib/lib-test.sh"
dest=$T/dest
make -s -C "$KMB_TOP" install DESTDIR="$dest" PREFIX=/usr >/dev/null
for f in usr/sbin/kmbuild usr/share/man/man8/kmbuild.8 usr/share/bash-completion/completions/kmbuild \
	etc/kmbuild/kmbuild.conf usr/share/kmbuild/templates/hello; do
	assert_file "$dest/$f"
done
"$dest/usr/sbin/kmbuild" --version | grep -q "^kmbuild " || fail "installed binary does not run"
grep -q '^\.TH KMBUILD 8' "$dest/usr/share/man/man8/kmbuild.8" || fail "man page"
grep -q "^\.TH KMBUILD 8 .*\"kmbuild $("$dest/usr/sbin/kmbuild" --version | cut -d" " -f2)\"" "$dest/usr/share/man/man8/kmbuild.8" || fail "man page version not substituted"
# An existing config is never overwritten.
echo "jobs = 3" >"$dest/etc/kmbuild/kmbuild.conf"
make -s -C "$KMB_TOP" install DESTDIR="$dest" PREFIX=/usr >/dev/null
assert_eq "$(cat "$dest/etc/kmbuild/kmbuild.conf")" "jobs = 3" "config overwritten"
echo ok
