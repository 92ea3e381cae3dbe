#!/bin/bash
# kmbuild headers fetch from an RPM repository: a kernel-devel rpm built here with rpmbuild
# (files under /usr/src/kernels/K/, real kbuild host tools inside), repodata/repomd.xml and a
# gzip'd primary.xml written by the test, repomd.xml.asc signed by a throw-away key; served
# over HTTP on 127.0.0.1. Then the bad cases: primary checksum, signature, 404, hostile rpm.
source "$(dirname "$0")/../lib/lib-test.sh"
source "$(dirname "$0")/../lib/lib-repo.sh"

command -v rpmbuild >/dev/null || skip "rpmbuild not installed (package rpm, scripts/deps/headers.txt)"
KBUILD=/usr/lib/linux-kbuild-6.1
[ -x "$KBUILD/scripts/basic/fixdep" ] || skip "linux-kbuild-6.1 not installed"

KR=6.5.0-300.fc99.x86_64
REPO=$T/www/fedora
mkdir -p "$REPO/Packages/k" "$REPO/repodata"

# build_rpm NAME VERSION RELEASE [hostile]: a kernel-devel shaped rpm into $REPO/Packages/k.
build_rpm() {
	local name=$1 ver=$2 rel=$3 mode=${4:-} top=$T/rpmbuild k="$2-$3.x86_64"
	mkdir -p "$top/SPECS"
	cat >"$top/SPECS/$name-$k.spec" <<EOF
Name: $name
Version: $ver
Release: $rel
Summary: kmbuild test kernel-devel
License: GPL-2.0-only
%global debug_package %{nil}
%global __os_install_post %{nil}
%define _build_id_links none
%description
Shaped like Fedora's kernel-devel, for kmbuild's tests.
%install
d=%{buildroot}/usr/src/kernels/$k
mkdir -p \$d/scripts/basic \$d/scripts/mod \$d/include/config \$d/arch/x86
echo 'include \$(srctree)/scripts/Kbuild.include' > \$d/Makefile
echo CONFIG_MODULES=y > \$d/.config
cp \$d/.config \$d/include/config/auto.conf
printf '0x1\\tprintk\\tvmlinux\\tEXPORT_SYMBOL\\t\\n' > \$d/Module.symvers
cp $KBUILD/scripts/basic/fixdep \$d/scripts/basic/fixdep
cp $KBUILD/scripts/mod/modpost \$d/scripts/mod/modpost
ln -s ../x86 \$d/arch/x86_64
EOF
	if [ "$mode" = hostile ]; then
		echo "ln -s ../../../../../../etc \$d/escape" >>"$top/SPECS/$name-$k.spec"
	fi
	cat >>"$top/SPECS/$name-$k.spec" <<EOF
%files
/usr/src/kernels/$k
EOF
	rpmbuild --quiet --define "_topdir $top" -bb "$top/SPECS/$name-$k.spec" >"$T/rpmbuild.log" 2>&1 ||
		{ cat "$T/rpmbuild.log"; fail "rpmbuild"; }
	cp "$top/RPMS/x86_64/$name-$k.rpm" "$REPO/Packages/k/"
}

build_rpm kernel-devel 6.5.0 300.fc99
build_rpm kernel-devel 6.5.0 301.fc99 hostile
build_rpm kernel-devel 6.4.0 100.fc99
RPM=$REPO/Packages/k/kernel-devel-$KR.rpm
assert_file "$RPM"

# primary.xml: three kernel-devel entries (the decoys first), with the comments, entities and
# rpm: namespaced elements real metadata has.
write_primary() {
	local f
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo '<!-- written by 43-headers-rpm.sh -->'
		echo '<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="3">'
		for f in "$REPO"/Packages/k/*.rpm; do
			local b rel ver
			b=$(basename "$f" .x86_64.rpm)
			rel=${b##*-}
			ver=${b%-*}
			ver=${ver##*-}
			cat <<EOF
<package type="rpm">
  <name>kernel-devel</name>
  <arch>x86_64</arch>
  <version epoch="0" ver="$ver" rel="$rel"/>
  <checksum type="sha256" pkgid="YES">$(sha256sum <"$f" | cut -d' ' -f1)</checksum>
  <summary>Development package for building kernel modules &amp; more</summary>
  <size package="$(stat -c %s "$f")" installed="1" archive="1"/>
  <location href="Packages/k/$(basename "$f")"/>
  <format>
    <rpm:license>GPL-2.0-only</rpm:license>
    <rpm:provides><rpm:entry name="kernel-devel" flags="EQ" epoch="0" ver="$ver" rel="$rel"/></rpm:provides>
  </format>
</package>
EOF
		done
		echo '</metadata>'
	} >"$T/primary.xml"
	gzip -n -f -c "$T/primary.xml" >"$T/primary.xml.gz"
	local sum
	sum=$(sha256sum <"$T/primary.xml.gz" | cut -d' ' -f1)
	rm -f "$REPO"/repodata/*-primary.xml.gz
	cp "$T/primary.xml.gz" "$REPO/repodata/$sum-primary.xml.gz"
	cat >"$REPO/repodata/repomd.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>1</revision>
  <data type="filelists">
    <checksum type="sha256">0000000000000000000000000000000000000000000000000000000000000000</checksum>
    <location href="repodata/none-filelists.xml.gz"/>
  </data>
  <data type="primary">
    <checksum type="sha256">$sum</checksum>
    <open-checksum type="sha256">$(sha256sum <"$T/primary.xml" | cut -d' ' -f1)</open-checksum>
    <location href="repodata/$sum-primary.xml.gz"/>
    <size>$(stat -c %s "$T/primary.xml.gz")</size>
  </data>
</repomd>
EOF
	gpg --homedir "$GNUPGHOME_T" --batch --yes --quiet --local-user repo@test.invalid \
		--armor --detach-sign -o "$REPO/repodata/repomd.xml.asc" "$REPO/repodata/repomd.xml"
}
mkkey repo
mkkey other
write_primary
start_httpd "$T/www"
CACHE=$ROOT/var/cache/kmbuild/headers

# 1. Fetch: repomd.xml signature, primary checksum, the rpm's sha256, payload via libarchive.
expect_rc 21 kmb headers find "$KR"
expect_rc 0 kmb headers fetch "$KR" --mirror "$URL/fedora" --keyring "$T/repo.gpg"
FETCH_OUT=$OUT
assert_contains "$OUT" "Headers for $KR: $CACHE/$KR/usr/src/kernels/$KR"
assert_cache_clean
for f in Makefile .config Module.symvers include/config/auto.conf; do
	cmp -s "$CACHE/$KR/usr/src/kernels/$KR/$f" <(rpm2cpio "$RPM" | cpio -i --quiet --to-stdout "./usr/src/kernels/$KR/$f") ||
		fail "$f differs from the rpm's payload"
done
cmp -s "$CACHE/$KR/usr/src/kernels/$KR/scripts/basic/fixdep" "$KBUILD/scripts/basic/fixdep" ||
	fail "fixdep differs"
[ "$(readlink "$CACHE/$KR/usr/src/kernels/$KR/arch/x86_64")" = ../x86 ] || fail "payload symlink"
[ "$(readlink "$CACHE/$KR/lib/modules/$KR/build")" = "../../../usr/src/kernels/$KR" ] ||
	fail "build link"
grep -q "^format=rpm" "$CACHE/$KR/.kmbuild-headers" || fail ".kmbuild-headers"
expect_rc 0 kmb headers find "$KR"
assert_contains "$OUT" "\* cache cache .*usr/src/kernels/$KR  complete"
grep -q "kernel-devel-$KR.rpm - 200" "$T/httpd.log" || fail "rpm not downloaded"
grep -q "kernel-devel-6.4.0" "$T/httpd.log" && fail "a decoy was downloaded"

# Not a terminal: no progress bar.
case $FETCH_OUT in *%*) fail "progress bar without a terminal: $FETCH_OUT" ;; esac

# The release shape picks the rpm path by itself; without a keyring it warns (TLS + sums only).
# On a terminal (script(1) gives it a pty) downloads draw a progress bar.
rm -rf "${CACHE:?}/$KR"
OUT=$(script -qec "$KMBUILD --root $ROOT headers fetch $KR --mirror $URL/fedora" /dev/null) ||
	fail "fetch on a tty: $OUT"
assert_contains "$OUT" "warning: no keyring for $URL/fedora"
assert_contains "$OUT" "kernel-devel-$KR.rpm .*\[#*\] 100%"
expect_rc 0 kmb headers find "$KR"

# Cached: reused without a download; --force fetches again and swaps the tree in one step.
: >"$T/httpd.log"
expect_rc 0 kmb headers fetch "$KR" --mirror "$URL/fedora" --keyring "$T/repo.gpg"
assert_contains "$OUT" "already in the cache"
[ ! -s "$T/httpd.log" ] || fail "cached fetch went to the network"
old_ino=$(stat -c %i "$CACHE/$KR")
expect_rc 0 kmb headers fetch "$KR" --mirror "$URL/fedora" --keyring "$T/repo.gpg" --force
[ "$(stat -c %i "$CACHE/$KR")" != "$old_ino" ] || fail "--force did not replace the tree"
assert_cache_clean
[ "$(ls -A "$CACHE")" = "$KR" ] || fail "old tree left: $(ls -A "$CACHE")"
expect_rc 0 kmb headers find "$KR"

bad() { # NAME RC PATTERN CMD...: stderr is one error line; the cache keeps its good tree
	local name=$1
	shift
	expect_error "$@"
	assert_cache_clean
	[ "$(ls -A "$CACHE")" = "$KR" ] || fail "$name: cache holds $(ls -A "$CACHE" | tr '\n' ' ')"
	echo "ok: $name: $OUT"
}
f() { kmb headers fetch "$@" --mirror "$URL/fedora" --force; }

bad "repomd signed by another key" 1 "repomd.xml: signed by a key not in the keyring" \
	f "$KR" --keyring "$T/other.gpg"
rules "*/repomd.xml.asc status 404"
bad "repomd.xml.asc missing" 1 "repomd.xml.asc: missing, but a keyring is configured" \
	f "$KR" --keyring "$T/repo.gpg"
rules "*-primary.xml.gz corrupt 40"
bad "primary checksum" 1 "primary.xml.gz: SHA256 mismatch" f "$KR" --keyring "$T/repo.gpg"
rules "*/kernel-devel-$KR.rpm corrupt 3000"
bad "rpm checksum" 1 "kernel-devel-$KR.rpm: SHA256 mismatch" f "$KR" --keyring "$T/repo.gpg"
rules "*/kernel-devel-$KR.rpm status 500"
bad "rpm HTTP 500" 1 "kernel-devel-$KR.rpm: HTTP 500 (after 3 attempts)" \
	f "$KR" --keyring "$T/repo.gpg"
rules "*/repomd.xml status 404"
bad "no repodata" 21 "repomd.xml: HTTP 404" f "$KR" --keyring "$T/repo.gpg"
rules
bad "not in the repository" 21 "no kernel-devel for 6.9.9-1.fc99.x86_64" \
	f 6.9.9-1.fc99.x86_64 --keyring "$T/repo.gpg"
bad "hostile payload" 1 "entry './usr/src/kernels/6.5.0-301.fc99.x86_64/escape': symlink target leaves" \
	f 6.5.0-301.fc99.x86_64 --keyring "$T/repo.gpg"
bad "no mirror" 2 "no RPM repository" kmb headers fetch "$KR" --rpm --force

# Malformed metadata: a DOCTYPE (entity expansion) is refused by the parser.
sed -i 's|<repomd |<!DOCTYPE x [<!ENTITY a "aaaa">]><repomd |' "$REPO/repodata/repomd.xml"
gpg --homedir "$GNUPGHOME_T" --batch --yes --quiet --local-user repo@test.invalid \
	--armor --detach-sign -o "$REPO/repodata/repomd.xml.asc" "$REPO/repodata/repomd.xml"
bad "DOCTYPE in repomd.xml" 1 "repomd.xml: DOCTYPE/entity declarations are not accepted" \
	f "$KR" --keyring "$T/repo.gpg"
echo "43-headers-rpm: ok"
