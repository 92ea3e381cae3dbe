# Shared by tests/integration/7[0-4]-*.sh (templates). Source it after lib-test.sh.
# Real Debian *-dkms packages (cached by lib-deb.sh, downloaded with apt-get when missing),
# a signed miniature Debian repository and an HTTP server on 127.0.0.1 (lib-repo.sh).

source "$KMB_TOP/tests/lib/lib-repo.sh"

TEMPLATES=$KMB_TOP/templates
# Every download goes to 127.0.0.1: a mirror for upstream tarballs and one for .debs that no
# test sets means the test forgot one. Port 9 (discard) refuses: "unreachable", fast.
export KMBUILD_TEMPLATE_MIRROR=http://127.0.0.1:9/nothing
export KMBUILD_TEMPLATE_DEB_MIRROR=http://127.0.0.1:9/nothing

# get_dkms_deb PKG VERSION: the real .deb (lib-deb.sh); prints its path.
get_dkms_deb() { deb_fetch "$1=$2" || fail "cannot obtain $1 $2"; }

# tpl_get TEMPLATE_CONF SECTION KEY: a value from a template.conf (sections "template",
# "source LABEL").
tpl_get() {
	awk -v sec="[$2]" -v key="$3" '
		/^\[/ { cur = $0; next }
		cur == sec && $0 ~ "^" key " *=" { sub("^[^=]*= *", ""); print; exit }' "$1"
}

# tpl_set TEMPLATE_CONF SECTION KEY VALUE: replace a value in place.
tpl_set() {
	local f=$1 sec=$2 key=$3 val=$4
	awk -v sec="[$sec]" -v key="$key" -v val="$val" '
		/^\[/ { cur = $0 }
		cur == sec && $0 ~ "^" key " *=" { print key " = " val; next }
		{ print }' "$f" >"$f.new" && mv "$f.new" "$f"
}

# A private copy of the catalogue the test may change; kmbuild reads it via template_dir.
copy_catalogue() {
	rm -rf "$T/templates"
	cp -a "$TEMPLATES" "$T/templates"
	export KMBUILD_TEMPLATE_DIR=$T/templates
}

# The cache of downloaded sources, as "sha256 name" lines (for "cache unchanged").
cache_state() {
	local c=$ROOT/var/cache/kmbuild/sources
	[ -d "$c" ] || return 0
	(cd "$c" && find . -mindepth 1 | sort | while read -r f; do
		if [ -f "$f" ]; then echo "$(sha256sum <"$f" | cut -c1-64) $f"; else echo "dir $f"; fi
	done)
}
