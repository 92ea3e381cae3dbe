#!/bin/bash
# kmbuild headers fetch, bad input: every failure is one line, a documented exit code, and
# leaves the headers cache exactly as it was (a good tree fetched first must survive every
# failed --force re-fetch untouched). Real packages, real gpgv, real HTTP on 127.0.0.1.
source "$(dirname "$0")/../lib/lib-test.sh"
source "$(dirname "$0")/../lib/lib-repo.sh"

WWW=$T/www
serve_uninstalled_kernel "$WWW"
mkkey other
DISTS=$WWW/debian/dists
CACHE=$ROOT/var/cache/kmbuild/headers
fetch() { # fetch RELEASE SUITE [KEYRING] [OPTS...]
	local k=$1 s=$2 kr=${3:-$T/repo.gpg}
	shift 3 2>/dev/null || shift $#
	kmb headers fetch "$k" --mirror "$URL/debian" --suite "$s" --keyring "$kr" "$@"
}

# The good state every failure below must leave alone.
expect_rc 0 fetch "$K" bookworm
GOOD_INO=$(stat -c %i "$CACHE/$K")
GOOD_INFO=$(sha256sum <"$CACHE/$K/.kmbuild-headers")
unchanged() { # after a failure: the cache holds the same verified tree and nothing else
	assert_cache_clean
	[ "$(stat -c %i "$CACHE/$K")" = "$GOOD_INO" ] || fail "$1: cached tree replaced"
	[ "$(sha256sum <"$CACHE/$K/.kmbuild-headers")" = "$GOOD_INFO" ] || fail "$1: tree changed"
	[ "$(ls -A "$CACHE")" = "$K" ] || fail "$1: cache holds $(ls -A "$CACHE" | tr '\n' ' ')"
	kmb headers find "$K" >/dev/null || fail "$1: cached tree no longer complete"
}
# bad NAME RC PATTERN CMD...: the command fails with RC and a one-line error matching PATTERN.
bad() {
	local name=$1
	shift
	expect_error "$@" # stderr only: progress lines ("Reading ...") go to stdout
	unchanged "$name"
	echo "ok: $name: $OUT"
}

# --- signatures ---
bad "key not in keyring" 1 "signed by a key not in the keyring" \
	fetch "$K" bookworm "$T/other.gpg" --force
bad "keyring missing" 1 "keyring '$T/nope.gpg': No such file" \
	fetch "$K" bookworm "$T/nope.gpg" --force
gpg --homedir "$GNUPGHOME_T" --batch --armor --export repo@test.invalid >"$T/repo.asc"
bad "armored keyring" 1 "keyring $T/repo.asc is ASCII-armored" \
	fetch "$K" bookworm "$T/repo.asc" --force
mkdir -p "$DISTS/tampered" && cp -r "$DISTS/bookworm/main" "$DISTS/tampered/"
sed 's/^ \([0-9a-f]\)\([0-9a-f]*\) \([0-9]* main\/binary-amd64\/Packages.xz\)$/ 0\2 \3/' \
	"$DISTS/bookworm/InRelease" >"$DISTS/tampered/InRelease"
cmp -s "$DISTS/bookworm/InRelease" "$DISTS/tampered/InRelease" && fail "tampering did nothing"
bad "tampered InRelease" 1 "BAD signature" fetch "$K" tampered "" --force
mkdir -p "$DISTS/unsigned" && cp -r "$DISTS/bookworm/main" "$DISTS/unsigned/"
sed 's/Suite: bookworm/Suite: unsigned/' "$DISTS/bookworm/Release" >"$DISTS/unsigned/InRelease"
bad "unsigned InRelease" 1 "InRelease: not signed" fetch "$K" unsigned "" --force
# A correctly signed Release of another suite must not stand in for the one asked for.
mkdir -p "$DISTS/stale" && cp -r "$DISTS/bookworm/." "$DISTS/stale/"
bad "wrong suite" 1 "is for suite 'bookworm'" fetch "$K" stale "" --force
mkdir -p "$DISTS/expired/main" && cp -r "$DISTS/bookworm/main/." "$DISTS/expired/main/"
write_release "$DISTS/expired" expired "Valid-Until: Sat, 01 Jan 2000 00:00:00 UTC"
sign_release "$DISTS/expired" repo
bad "expired InRelease" 1 "expired (Valid-Until" fetch "$K" expired "" --force

# kmbuild.conf supplies mirror, suite and keyring when no option does (and options win).
mkdir -p "$ROOT/etc/kmbuild"
printf 'headers_mirror = %s\nheaders_suite = stale\nheaders_keyring = %s\n' \
	"$URL/debian" "$T/other.gpg" >"$ROOT/etc/kmbuild/kmbuild.conf"
bad "settings from kmbuild.conf" 1 "$URL/debian/dists/stale/InRelease: signed by a key not in the keyring (gpgv --keyring $T/other.gpg)" \
	kmb headers fetch "$K" --force
bad "options over kmbuild.conf" 1 "dists/expired/InRelease: expired" \
	kmb headers fetch "$K" --force --suite expired --keyring "$T/repo.gpg"
rm "$ROOT/etc/kmbuild/kmbuild.conf"

# --- checksums, truncation, HTTP errors, connections cut ---
rules "*/Packages.xz corrupt 100"
bad "index checksum" 1 "Packages.xz: SHA256 mismatch" fetch "$K" bookworm "" --force
rules "*/linux-headers-${K}_*.deb corrupt 5000"
bad "deb checksum (wrong bytes)" 1 "linux-headers-${K}_.*\.deb: SHA256 mismatch" \
	fetch "$K" bookworm "" --force
rules "*/linux-kbuild-6.1_*.deb truncate 4096"
bad "truncated download" 1 "linux-kbuild-6.1_.*\.deb: size 4096, expected" \
	fetch "$K" bookworm "" --force
rules "*/InRelease status 404"
bad "InRelease 404" 21 "InRelease: HTTP 404" fetch "$K" bookworm "" --force
rules "*/linux-kbuild-6.1_*.deb status 404"
bad "deb 404" 1 "linux-kbuild-6.1_.*\.deb: HTTP 404" fetch "$K" bookworm "" --force
: >"$T/httpd.log"
rules "*/Packages.xz status 500"
bad "HTTP 500" 1 "Packages.xz: HTTP 500 (after 3 attempts)" fetch "$K" bookworm "" --force
assert_eq "$(grep -c 'Packages.xz - 500' "$T/httpd.log")" 3 "attempts (1 + 2 retries)"
# Verified downloads of the cases above wait for a retry; start this one from nothing.
rm -rf "$ROOT/var/cache/kmbuild/downloads"
: >"$T/httpd.log"
rules "*-common_*.deb drop 300000"
bad "server gone mid-transfer" 1 "common_.*\.deb: .*(after 3 attempts)" \
	fetch "$K" bookworm "" --force
# Each retry resumed from the .part it had; the .part waits outside the headers cache.
grep -q "common_.*\.deb bytes=[1-9][0-9]*- dropped" "$T/httpd.log" || fail "no resumed attempt"
ls "$ROOT"/var/cache/kmbuild/downloads/*-common_*.deb.part >/dev/null || fail "no .part kept"
rules
bad "not in the repository" 21 "linux-headers-6.1.0-9999-amd64 not found in bookworm" \
	fetch 6.1.0-9999-amd64 bookworm ""

# --- hostile or broken archives, listed with their correct checksums in a signed index ---
EVIL=$WWW/debian/pool/evil
mkdir -p "$EVIL" "$DISTS/evil/main/binary-amd64"
MKDEB="python3 $HELPERS/mkdeb.py"
hk() { echo "6.1.0-90$1-amd64"; }
h=usr/src/linux-headers
head -c 700000 "$DEB_KBUILD" >"$EVIL/corrupt.deb"
$MKDEB "$EVIL/abs.deb" "linux-headers-$(hk 2)" 1 "f:./$h-$(hk 2)/Makefile" "f:/tmp/kmbuild-evil-abs"
$MKDEB "$EVIL/dotdot.deb" "linux-headers-$(hk 3)" 1 "f:./$h-$(hk 3)/Makefile" \
	"f:./usr/src/../../../kmbuild-evil-dotdot"
$MKDEB "$EVIL/symlink.deb" "linux-headers-$(hk 4)" 1 "d:./$h-$(hk 4)/" \
	"l:./$h-$(hk 4)/scripts:../../../../../../../etc" "f:./$h-$(hk 4)/scripts/evil"
$MKDEB "$EVIL/incomplete.deb" "linux-headers-$(hk 5)" 1 "f:./$h-$(hk 5)/Makefile"
# Two packages whose links are harmless alone and escape together: x -> s/.., then s -> .
$MKDEB "$EVIL/combo1.deb" "linux-headers-$(hk 6)" 1 "l:./x:s/.." "f:./$h-$(hk 6)/Makefile"
$MKDEB "$EVIL/combo2.deb" "linux-headers-$(hk 6)-common" 1 "l:./s:."
stanza() { # package file [depends]
	echo "Package: $1"
	echo "Version: 1"
	echo "Architecture: amd64"
	[ -n "${3:-}" ] && echo "Depends: $3"
	echo "Filename: pool/evil/$2"
	echo "Size: $(stat -c %s "$EVIL/$2")"
	echo "SHA256: $(sha256sum <"$EVIL/$2" | cut -d' ' -f1)"
	echo
}
{
	stanza "linux-headers-$(hk 1)" corrupt.deb
	stanza "linux-headers-$(hk 2)" abs.deb
	stanza "linux-headers-$(hk 3)" dotdot.deb
	stanza "linux-headers-$(hk 4)" symlink.deb
	stanza "linux-headers-$(hk 5)" incomplete.deb
	stanza "linux-headers-$(hk 6)" combo1.deb "linux-headers-$(hk 6)-common (= 1)"
	stanza "linux-headers-$(hk 6)-common" combo2.deb
} >"$DISTS/evil/main/binary-amd64/Packages"
make_packages "$DISTS/evil"
write_release "$DISTS/evil" evil
sign_release "$DISTS/evil" repo

bad "corrupt archive" 1 "corrupt.deb: .*\(corrupt\|runcated\)" fetch "$(hk 1)" evil ""
bad "absolute path entry" 1 "abs.deb: entry '/tmp/kmbuild-evil-abs': absolute path" \
	fetch "$(hk 2)" evil ""
assert_no_file /tmp/kmbuild-evil-abs
bad "'..' entry" 1 "dotdot.deb: entry './usr/src/../../../kmbuild-evil-dotdot': '..' in path" \
	fetch "$(hk 3)" evil ""
assert_no_file "$CACHE/../kmbuild-evil-dotdot"
bad "escaping symlink" 1 "symlink.deb: entry './$h-$(hk 4)/scripts': symlink target leaves" \
	fetch "$(hk 4)" evil ""
bad "incomplete tree" 1 "not make a complete headers tree for $(hk 5): missing .config" \
	fetch "$(hk 5)" evil ""
bad "links escaping together" 1 "entry 'x': symlink resolves outside the tree" \
	fetch "$(hk 6)" evil ""

# --- a directory kmbuild did not make is never overwritten without --force ---
mkdir -p "$CACHE/$(hk 7)/usr"
expect_rc 1 fetch "$(hk 7)" evil ""
assert_contains "$OUT" "exists but is not a complete headers tree; use --force"
rm -r "${CACHE:?}/$(hk 7)"
unchanged "hand-made dir"

# --- usage ---
bad "bad option" 2 "belong to 'headers fetch'" kmb headers find "$K" --mirror x

# --- the server gone altogether (connection refused), last ---
kill "$HTTPD_PID"
wait "$HTTPD_PID" 2>/dev/null || true
HTTPD_PID=
bad "server gone" 1 "InRelease: .*onnect.*(after 3 attempts)" fetch "$K" bookworm "" --force
echo "42-headers-bad: ok"
