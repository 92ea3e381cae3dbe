#!/bin/bash
# kmbuild headers fetch from a Debian repository: REAL packages of a kernel that is not
# installed here (apt-get download, cached in /var/cache/kmbuild-test/debs), a Packages
# index made by dpkg-scanpackages, an InRelease signed by a throw-away key, all served over
# HTTP on 127.0.0.1. A first attempt goes through a proxy, a redirect, 503s and a cut
# connection (resumed with Range) and fails on a missing file; the second reuses what the first
# verified and succeeds. Then a REAL module build against the fetched headers, and the cache
# reused. (--force replacing a cached tree is tested with the small rpm in 43-headers-rpm.sh;
# kmbuild.conf settings in 42-headers-bad.sh: each full unpack here costs ~16k files.)
source "$(dirname "$0")/../lib/lib-test.sh"
source "$(dirname "$0")/../lib/lib-repo.sh"

serve_uninstalled_kernel "$T/www"
CACHE=$ROOT/var/cache/kmbuild/headers
DOWNLOADS=$ROOT/var/cache/kmbuild/downloads
fetch() { kmb headers fetch "$K" --mirror "$URL/debian" --suite bookworm --keyring "$T/repo.gpg" "$@"; }

# Not there before.
expect_rc 21 kmb headers find "$K"

echo "[${SECONDS}s] step 1"
# 1. Everything that can get in the way: the mirror's host name does not resolve, so every
# request goes through http_proxy from the environment (our server answers absolute-form
# requests like a proxy); the mirror moved (302 to the new place); InRelease answers 503
# twice (retried with back-off); the -common download is cut after 1 MB once (libcurl resumes
# the .part with a Range request); linux-kbuild is missing (404): the fetch fails, after
# verifying the two packages it got, and the cache is untouched.
rules "/moved/* redirect /moved $URL" \
	"/debian/dists/bookworm/InRelease fail-first 2 503" \
	"*-common_*.deb drop-first 1 1000000" \
	"*/linux-kbuild-6.1_*.deb status 404"
expect_rc 1 env -u no_proxy -u NO_PROXY http_proxy="$URL" "$KMBUILD" --root "$ROOT" \
	headers fetch "$K" --mirror http://mirror.invalid/moved/debian --suite bookworm \
	--keyring "$T/repo.gpg"
assert_contains "$OUT" "Reading http://mirror.invalid/moved/debian bookworm"
assert_contains "$OUT" "error: http://mirror.invalid/moved/debian/pool/main/linux-kbuild-6.1_.*: HTTP 404"
assert_eq "$(grep -c ' 302$' "$T/httpd.log")" 8 "redirects"
assert_eq "$(grep -c 'InRelease - 503' "$T/httpd.log")" 2 "503 answers"
assert_eq "$(grep -c 'InRelease - 200' "$T/httpd.log")" 1 "InRelease fetched"
grep -q "common_.*\.deb - dropped" "$T/httpd.log" || fail "no drop: $(cat "$T/httpd.log")"
grep -q "common_.*\.deb bytes=[1-9][0-9]*- 206" "$T/httpd.log" ||
	fail "no resume with Range: $(cat "$T/httpd.log")"
assert_no_file "$CACHE/$K"
assert_cache_clean
cmp -s "$DOWNLOADS/$(basename "$DEB_COMMON")" "$DEB_COMMON" || fail "resumed download differs"
assert_file "$DOWNLOADS/$(basename "$DEB_HDR")"

echo "[${SECONDS}s] step 2"
# 2. Fetch with nothing in the way: InRelease verified, the index checked, the packages
# verified before the first one is unpacked; the two verified in step 1 are not downloaded again.
: >"$T/httpd.log"
rules
t0=$(date +%s%N)
expect_rc 0 fetch
t1=$(date +%s%N)
echo "fetch took $(((t1 - t0) / 1000000)) ms"
assert_contains "$OUT" "Fetching linux-headers-$K "
assert_contains "$OUT" "Fetching linux-headers-${K%-amd64}-common "
assert_contains "$OUT" "Fetching linux-kbuild-6.1 "
assert_contains "$OUT" "not fetched.*linux-compiler-gcc-12-x86"
assert_contains "$OUT" "Headers for $K: $CACHE/$K/usr/src/linux-headers-$K"
assert_cache_clean
[ "$(ls -A "$CACHE")" = "$K" ] || fail "cache holds more than $K: $(ls -A "$CACHE")"
# Downloads are gone once the tree is committed; the package database was not touched.
assert_no_file "$ROOT/var/cache/kmbuild/downloads"
assert_no_file "$ROOT/var/lib/dpkg"
dpkg -s "linux-headers-$K" >/dev/null 2>&1 && fail "the host's package database changed"
grep -q "^package=linux-kbuild-6.1 " "$CACHE/$K/.kmbuild-headers" || fail ".kmbuild-headers"
# The packages' symlinks stay inside the cache.
[ "$(readlink "$CACHE/$K/lib/modules/$K/build")" = "../../../usr/src/linux-headers-$K" ] ||
	fail "build link: $(readlink "$CACHE/$K/lib/modules/$K/build")"
[ "$(readlink -f "$CACHE/$K/usr/src/linux-headers-$K/scripts")" = \
	"$(readlink -f "$CACHE/$K/usr/lib/linux-kbuild-6.1/scripts")" ] || fail "scripts link"
grep -q "^include \$(dir \$(lastword \$(MAKEFILE_LIST)))../linux-headers-${K%-amd64}-common/Makefile" \
	"$CACHE/$K/usr/src/linux-headers-$K/Makefile" || fail "Makefile include not made relative"
expect_rc 0 kmb headers find "$K"
assert_contains "$OUT" "\* cache cache .* complete"
# Exactly: InRelease, the smallest index, and the one .deb step 1 could not get.
assert_eq "$(grep -c ' 200$' "$T/httpd.log")" 3 "requests"
grep -q "GET /debian/pool/main/linux-kbuild-6.1_.*\.deb - 200" "$T/httpd.log" || fail "kbuild"
grep -q "GET /debian/dists/bookworm/main/binary-amd64/Packages.xz - 200" "$T/httpd.log" ||
	fail "Packages.xz not used"

echo "[${SECONDS}s] step 3"
# 3. A REAL module build against the fetched headers; vermagic is the fetched kernel's.
mkmod "$T/mod" hello
make -s -C "$CACHE/$K/lib/modules/$K/build" M="$T/mod" modules >"$T/make.log" 2>&1 ||
	{ cat "$T/make.log"; fail "module build against fetched headers"; }
assert_file "$T/mod/hello.ko"
vm=$(modinfo -F vermagic "$T/mod/hello.ko")
assert_contains "$vm" "^$K SMP"

echo "[${SECONDS}s] step 4"
# 4. Already cached: nothing is downloaded again.
: >"$T/httpd.log"
expect_rc 0 fetch
assert_contains "$OUT" "already in the cache"
[ ! -s "$T/httpd.log" ] || fail "cached fetch went to the network: $(cat "$T/httpd.log")"

echo "[${SECONDS}s] step 5"
# 5. --json output.
OUTJ=$(kmb --json headers fetch "$K" --mirror "$URL/debian" --suite bookworm \
	--keyring "$T/repo.gpg")
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["headers"].endswith("/usr/src/linux-headers-"+sys.argv[2]), d' \
	"$OUTJ" "$K"

echo "[${SECONDS}s] 41-headers-fetch: ok ($K)"
