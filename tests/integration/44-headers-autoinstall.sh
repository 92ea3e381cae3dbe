#!/bin/bash
# autoinstall for a kernel whose headers are missing: kmbuild fetches them as the headers
# policy says (here: from a signed Debian repository of REAL packages on 127.0.0.1), says so in
# its summary, and builds the module against them.
source "$(dirname "$0")/../lib/lib-test.sh"
source "$(dirname "$0")/../lib/lib-repo.sh"
serve_uninstalled_kernel "$T/www"
install_kernels "$K"
mkmod "$T/src" kmbt_hfetch 1.0
kmb add "$T/src" >/dev/null

# headers = never: reported, nothing built.
expect_rc 21 kmb autoinstall -k "$K"
assert_contains "$OUT" "headers = never"
mkdir -p "$ROOT/etc/kmbuild"
cat >"$ROOT/etc/kmbuild/kmbuild.conf" <<EOC
headers = fetch
headers_mirror = $URL/debian
headers_suite = bookworm
headers_keyring = $T/repo.gpg
EOC
out=$(KMBUILD_HEADERS=fetch kmb autoinstall -k "$K")
echo "$out"
assert_contains "$out" "Kernel headers for $K were missing: fetched"
f=$ROOT/lib/modules/$K/extra/kmbt_hfetch.ko
assert_file "$f"
assert_eq "$(modinfo -F vermagic "$f" | awk '{print $1}')" "$K" "built against the fetched headers"
echo ok
