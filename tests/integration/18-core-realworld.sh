#!/bin/bash
# Real-world check: the /usr/src trees of real Debian *-dkms packages (downloaded with
# apt-get, extracted with dpkg-deb, never installed) registered and built by kmbuild against
# the real headers, in one parallel autoinstall.
source "$(dirname "$0")/../lib/lib-test.sh"
cache=/var/cache/kmbuild-test/debs
mkdir -p "$cache"
pkgs="v4l2loopback-dkms acpi-call-dkms ddcci-dkms"
for p in $pkgs; do
	ls "$cache/${p}_"*.deb >/dev/null 2>&1 && continue
	(cd "$cache" && apt-get download -q "$p" >/dev/null 2>&1) ||
		skip "cannot download $p from the Debian archive"
done
install_kernels "$KNEW"
mkdir -p "$ROOT/etc" && printf 'ID=debian\nID_LIKE=\n' >"$ROOT/etc/os-release"
for p in $pkgs; do
	dpkg-deb -x "$(ls "$cache/${p}_"*.deb | sort -V | tail -n 1)" "$T/x-$p"
	src=$(find "$T/x-$p/usr/src" -mindepth 1 -maxdepth 1 -type d | head -n 1)
	kmb add "$src"
done
kmb status
t0=$SECONDS
kmb -j2 autoinstall -k "$KNEW" || fail "autoinstall of real packages failed: $(kmb status)"
echo "autoinstall of $(wc -w <<<"$pkgs") real packages: $((SECONDS - t0)) s"
for m in v4l2loopback acpi_call ddcci; do
	f=$(find "$ROOT/lib/modules/$KNEW" -name "$m.ko*" | head -n 1)
	[ -n "$f" ] || fail "$m.ko not installed"
	assert_eq "$(modinfo -F vermagic "$f" | awk '{print $1}')" "$KNEW" "vermagic of $m"
	grep -q "/$m.ko" "$ROOT/lib/modules/$KNEW/modules.dep" || fail "$m missing from modules.dep"
done
[ "$(kmb status | grep -c ": installed")" = 3 ] || fail "not all 3 installed: $(kmb status)"
echo ok
