#!/bin/bash
# Bad input to `kmbuild add TEMPLATE`: an unknown name (nearest names suggested), a template
# with a missing or a wrong field, a checksum mismatch (tarball, and a .deb whose signed
# repository index disagrees with the template), an unreachable source, a tarball with path
# traversal, a version the template does not have. Each: one clear line on stderr, a
# documented exit code, nothing registered, nothing under /usr/src, the cache unchanged.
source "$(dirname "$0")/../lib/lib-test.sh"
source "$(dirname "$0")/../lib/lib-templates.sh"
for t in gpg gpgv dpkg-scanpackages python3; do
	command -v $t >/dev/null || skip "$t not installed (scripts/install-deps)"
done
install_kernels $KNEW
copy_catalogue

# A small real module as an upstream-style tarball, served by the mirror.
mkdir -p $T/www/mirror/tiny $T/www/mirror/evil $T/src
mkmod $T/src/tiny-1.0 tiny 1.0
tar -C $T/src -czf $T/www/mirror/tiny/tiny-1.0.tar.gz tiny-1.0
mktemplate() { # NAME SHA256 [SIZE]
	mkdir -p $T/templates/$1
	cat >$T/templates/$1/template.conf <<EOF
[template]
name = $1
version = 1.0
description = test module $1
homepage = https://example.invalid/$1

[source upstream]
url = https://example.invalid/releases/$1-1.0.tar.gz
sha256 = $2
EOF
	printf '[package]\nname = %s\nversion = 1.0\n\n[module %s]\ndest = /extra\n' $1 $1 \
		>$T/templates/$1/kmbuild.conf
}
mktemplate tiny "$(sha256sum <$T/www/mirror/tiny/tiny-1.0.tar.gz | cut -c1-64)"

# A tarball whose member climbs out of the extraction directory.
python3 - $T/www/mirror/evil/evil-1.0.tar.gz <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as tf:
    for name, data in (("evil-1.0/Makefile", b"obj-m := evil.o\n"),
                       ("evil-1.0/../../escaped-by-tar", b"pwned\n")):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
EOF
mktemplate evil "$(sha256sum <$T/www/mirror/evil/evil-1.0.tar.gz | cut -c1-64)"

# The real v4l2loopback-dkms in a signed repository (for the .deb mismatch).
V4L=$(get_dkms_deb v4l2loopback-dkms 0.12.7-2)
mkkey repo
build_repo $T/www bookworm repo $V4L
start_httpd $T/www
export KMBUILD_TEMPLATE_MIRROR=$URL/mirror KMBUILD_TEMPLATE_DEB_MIRROR=$URL/debian
export KMBUILD_TEMPLATE_DEB_KEYRING=$T/repo.gpg

# A good add fills the cache; every bad case below must leave it exactly so.
kmb add tiny >/dev/null || fail "good add of tiny"
kmb remove tiny --all >/dev/null
CACHE0=$(cache_state)
assert_contains "$CACHE0" "tiny-1.0.tar.gz"

# bad RC PATTERN ARGS...: one line on stderr matching PATTERN, exit RC, nothing changed.
bad() {
	local rc=$1 pat=$2
	shift 2
	set +e
	kmb "$@" >$T/bad.out 2>$T/bad.err
	local got=$?
	set -e
	[ $got = $rc ] || fail "kmbuild $*: expected rc $rc, got $got: $(cat $T/bad.out $T/bad.err)"
	local err
	err=$(grep -v '^kmbuild: warning:' $T/bad.err || true)
	assert_one_line "$err"
	assert_contains "$err" "$pat"
	assert_eq "$(kmb status | grep -vc '^$' || true)" 0 "registered after 'kmbuild $*'"
	assert_eq "$(ls -A $ROOT/usr/src 2>/dev/null | wc -l)" 0 "/usr/src after 'kmbuild $*'"
	assert_eq "$(cache_state)" "$CACHE0" "cache after 'kmbuild $*'"
	echo "ok: kmbuild $* -> rc $rc: $err"
}

# Unknown names: the nearest ones are suggested.
bad 4 "wiregard: unknown template (did you mean: wireguard?)" add wiregard
bad 4 "v4l2: unknown template (did you mean: v4l2loopback?)" add v4l2
bad 4 "acpi-call: unknown template (did you mean: acpi_call?)" add acpi-call
bad 4 "qqqqqqqqqq: no such file or directory, and no template of that name" add qqqqqqqqqq
bad 4 "no template matches 'wiregard' (did you mean: wireguard?)" search wiregard

# Missing and wrong fields (the catalogue's copy of a shipped template, one change each).
TC=$T/templates/v4l2loopback/template.conf
cp $TC $T/v4l.orig
bad_tc() { # SED-SCRIPT PATTERN: the template.conf edited by SED-SCRIPT is refused
	cp $T/v4l.orig $TC && sed -i "$1" $TC
	bad 8 "$2" add v4l2loopback
}
bad_tc '/^sha256 = e0782b8a/d' "template.conf:[0-9]*: sha256: missing in \[source upstream\]"
bad 8 "template.conf:[0-9]*: sha256: missing in \[source upstream\]" search
bad_tc 's/^sha256 = e0782b8a/sha256 = E0782B8A/' \
	"template.conf:[0-9]*: sha256: 'E0782B8A.*' is not 64 lowercase hex digits"
bad_tc '/^description = /d' "template.conf: description: missing in \[template\]"
bad_tc 's|^url = https://github.com|url = ftp://github.com|' \
	"template.conf:[0-9]*: url: 'ftp://github.com.*' is not an http or https URL"
bad_tc 's/^name = v4l2loopback/name = v4l2lo0pback/' \
	"template.conf:[0-9]*: name: 'v4l2lo0pback' differs from the template's directory name"
bad_tc 's/^suite = bookworm/suite = bookworm\nsuite = sid/' \
	"template.conf:[0-9]*: suite: given twice in this section"
bad_tc 's/^size = 52145/size = lots/' \
	"template.conf:[0-9]*: size: 'lots' is not a positive number of bytes"
bad_tc '$a colour = blue' "template.conf:[0-9]*: colour: unknown key in \[source debian\]"
bad_tc 's/^version = 0.12.7/version = 0.12.8/' \
	"version: '0.12.8' differs from version '0.12.7' in .*/kmbuild.conf"
cp $T/v4l.orig $TC && sed -i 's/^subdir = src/subdir = ..\/..\/etc/' $T/templates/wireguard/template.conf
bad 8 "template.conf:[0-9]*: subdir: '../../etc' must be a relative path without '..'" add wireguard
cp $TEMPLATES/wireguard/template.conf $T/templates/wireguard/template.conf
echo "bogus = 1" >>$T/templates/v4l2loopback/kmbuild.conf
bad 8 "kmbuild.conf:[0-9]*: bogus" add v4l2loopback
cp $TEMPLATES/v4l2loopback/kmbuild.conf $T/templates/v4l2loopback/kmbuild.conf

# A version the template does not have.
bad 4 "v4l2loopback@0.13.2: the template provides version 0.12.7 only" add v4l2loopback@0.13.2

# Checksum mismatch: the mirror serves other bytes than the template pins.
cp $T/www/mirror/tiny/tiny-1.0.tar.gz $T/tiny.good
printf 'tampered' >>$T/www/mirror/tiny/tiny-1.0.tar.gz
rm $ROOT/var/cache/kmbuild/sources/tiny-1.0.tar.gz
CACHE0=$(cache_state)
bad 4 "tiny: no source could be fetched: \[source upstream\] $URL/mirror/tiny/tiny-1.0.tar.gz: SHA256 mismatch: got [0-9a-f]*, expected" add tiny
cp $T/tiny.good $T/www/mirror/tiny/tiny-1.0.tar.gz

# The .deb: the signed index of the repository disagrees with the template's sum.
sed -i "s/^sha256 = 7f2bdae2/sha256 = 00000000/" $TC
bad 4 "checksum mismatch: v4l2loopback-dkms 0.12.7-2 has SHA256 7f2bdae2.* in $URL/debian bookworm, the template pins 00000000" add v4l2loopback
grep -q "trying \[source debian\]" $T/bad.err || fail "the upstream 404 was not reported as a warning"
cp $T/v4l.orig $TC

# Unreachable source.
KMBUILD_TEMPLATE_MIRROR=http://127.0.0.1:9/m bad 4 "tiny: no source could be fetched: \[source upstream\] .*127.0.0.1:9/m/tiny/tiny-1.0.tar.gz" add tiny
# Not on the mirror (404).
bad 4 "no source could be fetched: \[source upstream\] .*404" add tiny --mirror $URL/elsewhere

# Path traversal inside a verified tarball: refused by the secure extraction, nothing escapes.
bad 8 "evil: evil-1.0.tar.gz: entry .evil-1.0/../../escaped-by-tar.: .... in path" add evil
[ -z "$(find $T -name 'escaped-by-tar*')" ] || fail "a file escaped: $(find $T -name 'escaped-by-tar*')"
grep -q "GET /mirror/evil/evil-1.0.tar.gz - 200" $T/httpd.log || fail "evil tarball not fetched"

# --source with the wrong --sha256; --source that does not exist.
bad 8 "checksum mismatch" add tiny --source $T/tiny.good --sha256 $(printf '0%.0s' {1..64})
bad 2 "--source $T/nope: no such file, directory or URL" add tiny --source $T/nope
bad 2 "apply to templates only" add $T/src/tiny-1.0 --mirror $URL

# And the good cases still work after all that, --source included.
kmb add tiny --source $T/tiny.good --sha256 $(sha256sum <$T/tiny.good | cut -c1-64) >$T/ok.out
assert_contains "$(cat $T/ok.out)" "tiny/1.0: added from $T/tiny.good (--source, SHA256 verified)"
echo "ok: every bad input refused with one line, nothing registered, cache unchanged"
