# Real Debian packages for the tests, and what the tests make of them, cached outside the repo
# and reused between runs, under $KMB_TEST_CACHE (default /var/cache/kmbuild-test):
#   debs/                   .deb files as apt-get download names them, checked against apt
#   linux-image-<rel>/root  a linux-image package unpacked, with depmod run on it
#   headers/<rel>/root      a linux-headers package (+ its -common) unpacked, made buildable
# Each entry is made under a lock and moved into place whole, so a killed or concurrent run
# never leaves half of one. Needs fail (lib-base.sh) and headers_abi (lib-kernels.sh).

KMB_TEST_CACHE=${KMB_TEST_CACHE:-/var/cache/kmbuild-test}
DEB_CACHE=$KMB_TEST_CACHE/debs

# cache_lock NAME: an exclusive lock on one cache entry, held until cache_unlock.
cache_lock() {
	mkdir -p "$KMB_TEST_CACHE"
	exec {CACHE_LOCK_FD}>"$KMB_TEST_CACHE/.lock-$1"
	flock -w 600 "$CACHE_LOCK_FD" || fail "could not lock $KMB_TEST_CACHE/.lock-$1"
}
cache_unlock() { exec {CACHE_LOCK_FD}>&-; }

# deb_fetch PKG[=VERSION]...: the path of each package's .deb, one a line in the order given:
# the version apt would download now (or VERSION), from the cache when its SHA256 is what apt
# says, else downloaded with apt-get. When apt's index is out of date, one apt-get update and a
# second try; a package the index no longer has is taken from the cache as it is.
deb_fetch() {
	deb_fetch_once "$@" && return 0
	[ "$(id -u)" = 0 ] && apt-get update -qq >/dev/null 2>&1 && deb_fetch_once "$@" && return 0
	deb_cached "$@" && return 0
	fail "cannot get the .deb of $* from apt: $(tail -n 2 "$DEB_CACHE/.download.log" 2>/dev/null)"
}

deb_fetch_once() {
	local uris out=
	mkdir -p "$DEB_CACHE"
	uris=$(apt-get download --print-uris "$@" 2>"$DEB_CACHE/.download.log") || return 1
	[ "$(grep -c . <<<"$uris")" = $# ] || return 1
	cache_lock debs
	local _ file sum
	while read -r _ file _ sum; do
		deb_verified "$file" "$sum" || deb_download "$file" "$sum" || { cache_unlock; return 1; }
		out="$out$DEB_CACHE/$file"$'\n'
	done <<<"$uris"
	cache_unlock
	printf '%s' "$out"
}

# deb_verified FILE SHA256:SUM: the cached FILE is there and has that checksum.
deb_verified() {
	[ -f "$DEB_CACHE/$1" ] && [ "SHA256:$(sha256sum <"$DEB_CACHE/$1" | cut -d' ' -f1)" = "$2" ]
}

# deb_download FILE SHA256:SUM: apt-get download the package version FILE names (pkg_ver_arch).
deb_download() {
	local file=$1 pkg ver tmp
	pkg=${file%%_*}
	ver=${file#*_}
	ver=${ver%_*}
	tmp=$(mktemp -d "$DEB_CACHE/.dl.XXXXXX")
	(cd "$tmp" && apt-get download -q "$pkg=${ver//%3a/:}") >"$DEB_CACHE/.download.log" 2>&1 &&
		mv "$tmp/$file" "$DEB_CACHE/$file"
	rm -rf "$tmp"
	deb_verified "$file" "$2"
}

# deb_cached PKG[=VERSION]...: the newest cached .deb of each, when all are in the cache.
deb_cached() {
	local p f out=
	for p in "$@"; do
		f=$(ls "$DEB_CACHE/${p%%=*}_"*.deb 2>/dev/null | sort -V | tail -n 1)
		[ -n "$f" ] || return 1
		out="$out$f"$'\n'
	done
	printf '%s' "$out"
}

# deb_linux_image REL: a root dir holding boot/vmlinuz-REL, boot/config-REL and lib/modules/REL
# (indexed by depmod) from the real linux-image-REL package. Read-only for the tests.
deb_linux_image() {
	local rel=$1 dir=$KMB_TEST_CACHE/linux-image-$1
	if [ ! -d "$dir/root/lib/modules/$rel" ]; then
		cache_lock "image-$rel"
		[ -d "$dir/root/lib/modules/$rel" ] || deb_unpack_image "$rel" "$dir" ||
			{ cache_unlock; return 1; }
		cache_unlock
	fi
	echo "$dir/root"
}

deb_unpack_image() { # REL DIR
	local deb tmp
	deb=$(deb_fetch "linux-image-$1") || return 1
	tmp=$(mktemp -d "$KMB_TEST_CACHE/.img.XXXXXX")
	dpkg-deb -x "$deb" "$tmp/root" && depmod -b "$tmp/root" "$1" || { rm -rf "$tmp"; return 1; }
	rm -rf "$2"
	mv "$tmp" "$2"
}

# deb_headers REL: a headers tree of kernel REL to build modules against, from the real
# linux-headers packages, for a kernel whose headers are not installed.
deb_headers() {
	local rel=$1 dir=$KMB_TEST_CACHE/headers/$1/root/usr/src/linux-headers-$1
	if [ ! -f "$dir/Module.symvers" ]; then
		cache_lock "headers-$rel"
		[ -f "$dir/Module.symvers" ] || deb_unpack_headers "$rel" || { cache_unlock; return 1; }
		cache_unlock
	fi
	echo "$dir"
}

deb_unpack_headers() { # REL
	local rel=$1 debs tmp top=$KMB_TEST_CACHE/headers/$1
	debs=$(deb_fetch "linux-headers-$rel" "linux-headers-${rel%-amd64}-common") || return 1
	tmp=$(mktemp -d "$KMB_TEST_CACHE/.hdr.XXXXXX")
	while read -r deb; do
		dpkg-deb -x "$deb" "$tmp/root" || { rm -rf "$tmp"; return 1; }
	done <<<"$debs"
	# The package's Makefile includes the -common tree by absolute path and its scripts are a
	# relative link to the installed linux-kbuild: point both here.
	mkdir -p "$tmp/root/usr/lib" "$KMB_TEST_CACHE/headers"
	ln -s /usr/lib/linux-kbuild-6.1 "$tmp/root/usr/lib/linux-kbuild-6.1"
	sed -i "s#/usr/src/#$top/root/usr/src/#" "$tmp/root/usr/src/linux-headers-$rel/Makefile"
	rm -rf "$top"
	mv "$tmp" "$top"
}
