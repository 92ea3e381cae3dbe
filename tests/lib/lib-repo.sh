# Shared by tests/integration/4[0-3]-headers-*.sh: a miniature Debian repository made of
# REAL packages from the Debian archive, signed with a throw-away key, served over HTTP on
# 127.0.0.1 by tests/helpers/httpd.py. Source it after lib-test.sh.

source "$KMB_TOP/tests/lib/lib-deb.sh"
HELPERS=$KMB_TOP/tests/helpers
HTTPD_PID=
GNUPGHOME_T=$T/gnupg

headers_cleanup() {
	if [ -n "$HTTPD_PID" ]; then
		kill "$HTTPD_PID" 2>/dev/null || true
		wait "$HTTPD_PID" 2>/dev/null || true
	fi
	if [ -d "$GNUPGHOME_T" ]; then
		gpgconf --homedir "$GNUPGHOME_T" --kill gpg-agent 2>/dev/null || true
	fi
	cleanup
}
trap headers_cleanup EXIT

# The test server is local: a proxy from the CI environment must not stand in between (apt,
# for get_debs, keeps its proxy).
export no_proxy=127.0.0.1,localhost${no_proxy:+,$no_proxy}
export NO_PROXY=$no_proxy
# Fast retries: the back-off is tested, not waited for.
export KMBUILD_FETCH_BACKOFF_MS=50 KMBUILD_FETCH_RETRIES=2 KMBUILD_FETCH_CONNECT_TIMEOUT=5

# get_debs K: the three real .debs for K (the headers, their -common package, linux-kbuild-6.1)
# in the versions apt would install now (lib-deb.sh). Sets DEB_HDR, DEB_COMMON, DEB_KBUILD.
get_debs() {
	local out
	out=$(deb_fetch "linux-headers-$1" "linux-headers-${1%-amd64}-common" linux-kbuild-6.1) ||
		fail "cannot obtain the .debs for $1"
	{ read -r DEB_HDR; read -r DEB_COMMON; read -r DEB_KBUILD; } <<<"$out"
}

# serve_uninstalled_kernel WWW: K, a kernel of the apt index not installed here, and its real
# packages (get_debs) in a repository under WWW signed by the key "repo" ($T/repo.gpg),
# served at $URL/debian, suite bookworm.
serve_uninstalled_kernel() {
	command -v dpkg-scanpackages >/dev/null ||
		skip "dpkg-dev not installed (scripts/deps/headers.txt)"
	K=$(pick_uninstalled_kernel) ||
		skip "every linux-headers-6.1.0-*-amd64 in the apt index is installed"
	get_debs "$K"
	mkkey repo
	build_repo "$1" bookworm repo "$DEB_HDR" "$DEB_COMMON" "$DEB_KBUILD"
	start_httpd "$1"
}

# A throw-away signing key, and its public key as a gpgv keyring. mkkey NAME -> $T/NAME.gpg
mkkey() {
	local name=$1
	mkdir -p "$GNUPGHOME_T" && chmod 700 "$GNUPGHOME_T"
	# gpg generates and signs through gpg-agent, which gpg only recommends
	# (scripts/deps/headers.txt installs it): say so when it is missing.
	gpg --homedir "$GNUPGHOME_T" --batch --quiet --pinentry-mode loopback --passphrase '' \
		--quick-gen-key "kmbuild test $name <$name@test.invalid>" ed25519 sign 1d \
		2>"$T/gpg.err" || fail "gpg could not make the test key $name: $(tail -n 3 "$T/gpg.err")"
	gpg --homedir "$GNUPGHOME_T" --batch --export "$name@test.invalid" >"$T/$name.gpg"
	[ -s "$T/$name.gpg" ] || fail "gpg key $name"
}

# sign_release DIR KEYNAME: DIR/Release -> DIR/InRelease (clearsigned).
sign_release() {
	gpg --homedir "$GNUPGHOME_T" --batch --yes --quiet --pinentry-mode loopback \
		--passphrase '' --local-user "$2@test.invalid" --clearsign \
		-o "$1/InRelease" "$1/Release"
}

# write_release DISTDIR SUITE [EXTRA_FIELD_LINE]: a Release listing main/binary-amd64/Packages*.
write_release() {
	local d=$1 suite=$2 extra=${3:-} f
	{
		echo "Origin: kmbuild-test"
		echo "Label: kmbuild-test"
		echo "Suite: $suite"
		echo "Codename: $suite"
		echo "Date: $(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S UTC')"
		[ -n "$extra" ] && echo "$extra"
		echo "Architectures: amd64"
		echo "Components: main"
		echo "SHA256:"
		for f in main/binary-amd64/Packages main/binary-amd64/Packages.xz \
			main/binary-amd64/Packages.gz; do
			[ -f "$d/$f" ] || continue
			printf ' %s %s %s\n' "$(sha256sum <"$d/$f" | cut -d' ' -f1)" \
				"$(stat -c %s "$d/$f")" "$f"
		done
	} >"$d/Release"
}

# make_packages DISTDIR: compress DISTDIR/main/binary-amd64/Packages.
make_packages() {
	local b=$1/main/binary-amd64
	xz -k -f "$b/Packages"
	gzip -k -f -n "$b/Packages"
}

# build_repo WWW SUITE KEYNAME DEB...: WWW/debian with the debs in pool/, a Packages index made
# by dpkg-scanpackages and a signed InRelease.
build_repo() {
	local www=$1 suite=$2 key=$3
	shift 3
	local top=$www/debian d=$www/debian/dists/$suite
	mkdir -p "$top/pool/main" "$d/main/binary-amd64"
	cp "$@" "$top/pool/main/"
	(cd "$top" && dpkg-scanpackages -m pool /dev/null 2>/dev/null) >"$d/main/binary-amd64/Packages"
	grep -q '^Package: ' "$d/main/binary-amd64/Packages" || fail "dpkg-scanpackages"
	make_packages "$d"
	write_release "$d" "$suite"
	sign_release "$d" "$key"
}

# start_httpd WWW: serve WWW on 127.0.0.1; sets PORT, URL. Behaviour from $T/rules.
start_httpd() {
	: >"$T/rules"
	: >"$T/httpd.log"
	rm -f "$T/port"
	python3 "$HELPERS/httpd.py" --root "$1" --port-file "$T/port" --rules "$T/rules" \
		--log "$T/httpd.log" &
	HTTPD_PID=$!
	local i
	for i in $(seq 50); do
		[ -s "$T/port" ] && break
		sleep 0.1
	done
	[ -s "$T/port" ] || fail "httpd did not start"
	PORT=$(cat "$T/port")
	URL=http://127.0.0.1:$PORT
}

rules() { printf '%s\n' "$@" >"$T/rules"; }

# The headers cache must hold nothing but complete trees (no staging left-overs).
assert_cache_clean() {
	local c=$ROOT/var/cache/kmbuild/headers
	[ -d "$c" ] || return 0
	local left
	left=$(find "$c" -mindepth 1 -maxdepth 1 -name '.staging-*' | head -n 1)
	[ -z "$left" ] || fail "staging left in the cache: $left"
}
