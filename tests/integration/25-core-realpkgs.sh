#!/bin/bash
# Real Debian 12 packages that kmbuild once got wrong (issue 11), built as on a real system:
#   r8168-dkms        BUILD_EXCLUSIVE_CONFIG="CONFIG_PCI": was wrongly excluded (config lookup)
#   zfs-dkms          PRE_BUILD with command substitutions: configure must get DKMS's arguments
#   west-chamber-dkms MAKE builds in /usr/src/<m>-<v> and moves the .ko files to the hard-coded
#                     /var/lib/dkms/<m>/<v>/build
#   digimend-dkms     a dkms.conf that needs a real shell (if, sourcing the kernel's .config)
# These packages hard-code /usr/src, /var/lib/dkms and /lib/modules, so a --root sandbox does not
# do: kmbuild runs with no root prefix in a throwaway view of this machine (an overlay of / in a
# private mount namespace, chroot into it; every write lands in a tmpfs, gone with the namespace).
# zfs's configure takes minutes (its kernel checks): by default the test records the arguments
# configure gets, through DKMS's /etc/dkms/<m>/<script> override, and compares them with what
# DKMS's own code (the installed /usr/sbin/dkms) computes; KMB_TEST_SLOW=1 builds zfs for real.
source "$(dirname "$0")/../lib/lib-test.sh"
[ "$(id -u)" = 0 ] || skip "needs root (mount namespace, overlay, chroot)"
command -v unshare >/dev/null || skip "unshare (util-linux) not installed"

# --- the packages: apt-get download, shared cache; contrib and non-free through a private apt
# state, since the machine's sources may list main only -------------------------------------
cache=/var/cache/kmbuild-test/debs
apt_state=/var/cache/kmbuild-test/apt-all
PKGS="r8168-dkms zfs-dkms west-chamber-dkms xtables-addons-dkms digimend-dkms"
mkdir -p "$cache" "$apt_state/lists/partial" "$apt_state/archives/partial"
aptq() { # apt-get with the private state
	apt-get -q -o Dir::State="$apt_state" -o Dir::State::Lists="$apt_state/lists" \
		-o Dir::Cache="$apt_state" -o Dir::Etc::SourceList="$apt_state/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null -o Dir::State::status=/var/lib/dpkg/status "$@"
}
missing=""
for p in $PKGS; do ls "$cache/${p}_"*.deb >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
	kr=/usr/share/keyrings/debian-archive-keyring.gpg
	[ -f "$kr" ] || skip "no $kr to verify the Debian archive"
	for s in bookworm bookworm-updates; do
		echo "deb [signed-by=$kr] http://deb.debian.org/debian $s main contrib non-free"
	done >"$apt_state/sources.list"
	aptq update >"$T/apt.log" 2>&1 || skip "apt-get update failed: $(tail -n 1 "$T/apt.log")"
	# shellcheck disable=SC2086
	(cd "$cache" && aptq download $missing >>"$T/apt.log" 2>&1) ||
		skip "cannot download$missing: $(grep -m1 '^E:' "$T/apt.log")"
fi
debs=""
for p in $PKGS; do debs="$debs $(ls "$cache/${p}_"*.deb | sort -V | tail -n 1)"; done

# --- inside the throwaway system (run by chroot) -----------------------------------------------
cat >"$T/inside.sh" <<'EOF'
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
K=$KNEW
export KMBUILD_HEADERS=never
kmb() { "$KMBUILD" "$@"; }
kmb mok generate >/dev/null
# zfs: DKMS's override of its configure records what configure would get, then stops there
# (make then finds no Makefile and the zfs build fails fast).
if [ -z "${KMB_TEST_SLOW:-}" ]; then
	mkdir -p /etc/dkms/zfs
	printf '#!/bin/sh\nprintf "%%s\\n" "$@" >/tmp/zfs-configure.args\n' >/etc/dkms/zfs/configure
	chmod +x /etc/dkms/zfs/configure
fi
for src in /usr/src/r8168-* /usr/src/west-chamber-* /usr/src/digimend-* /usr/src/zfs-*; do
	kmb add "$src" >/dev/null
done
set +e
kmb -j2 autoinstall -k "$K" --no-initramfs
set -e
kmb status

# r8168: Debian's kernel has CONFIG_PCI=y: built, installed, signed, never "excluded".
st=$(kmb status r8168 -k "$K")
[[ $st == *": installed"* ]] || fail "r8168: $st"
ko=$(find "/lib/modules/$K/updates" -name 'r8168.ko*' | head -n 1)
[ -n "$ko" ] || fail "r8168.ko not installed"
[ "$(modinfo -F vermagic "$ko" | awk '{print $1}')" = "$K" ] || fail "r8168 vermagic"
[ -n "$(modinfo -F signer "$ko")" ] || fail "r8168 not signed"

# west-chamber: its MAKE found DKMS's build dir; the shared source tree got no build output.
st=$(kmb status west-chamber -k "$K")
[[ $st == *": installed"* ]] || fail "west-chamber: $st"
for m in xt_CUI xt_ZHANG xt_gfw; do
	[ -n "$(find "/lib/modules/$K/updates" -name "$m.ko*")" ] || fail "$m.ko not installed"
done
[ -z "$(find /usr/src/west-chamber-* -name '*.ko' -o -name '*.o')" ] ||
	fail "west-chamber's build wrote into /usr/src"

# digimend: bash-evaluated dkms.conf (if, sourcing .config): 4 modules.
st=$(kmb status digimend -k "$K")
[[ $st == *": installed"* ]] || fail "digimend: $st"
[ "$(find "/lib/modules/$K" -name 'hid-*.ko*' | wc -l)" = 4 ] || fail "digimend modules"

# zfs: PRE_BUILD as DKMS runs it (its run string, split like DKMS 3.0.10's `exec $run` and
# parsed like 3.4's eval: the same here), computed by the installed DKMS's own safe_source.
conf=$(ls /usr/src/zfs-*/dkms.conf)
want="--prefix=/usr --with-config=kernel --with-linux=/lib/modules/$K/source"
want="$want --with-linux-obj=/lib/modules/$K/build --with-qat= --host="
if [ -n "${KMB_TEST_SLOW:-}" ]; then
	st=$(kmb status zfs -k "$K")
	[[ $st == *": installed"* ]] || fail "zfs: $st"
	grep -q "^  \$ /var/lib/dkms/zfs/.*/build/configure $want" \
		/var/lib/kmbuild/zfs/*/"$K"/x86_64/build/config.log || fail "configure's arguments"
else
	[ -f /tmp/zfs-configure.args ] || fail "zfs's PRE_BUILD did not run configure"
	got=$(tr '\n' ' ' </tmp/zfs-configure.args)
	[ "$got" = "$want " ] || fail "configure got: $got; want: $want"
	if [ -x /usr/sbin/dkms ]; then
		# DKMS's functions, taken from DKMS itself.
		fns=$(awk '/^(safe_source|mktemp_or_die|die|error|deprecated)\(\)/,/^[})]$/' /usr/sbin/dkms)
		dkms_args=$(
			set +eu # DKMS runs without them
			eval "$fns"
			kernelver=$K arch=x86_64 kernel_source_dir=/lib/modules/$K/build
			dkms_tree=/var/lib/dkms source_tree=/usr/src install_tree=/lib/modules
			safe_source "$conf" PRE_BUILD 2>/dev/null
			run="$dkms_tree/zfs/v/build/$PRE_BUILD"
			set -- $run
			shift
			echo "$*"
		)
		[ "$dkms_args" = "$want" ] || fail "DKMS computes: $dkms_args; want: $want"
	fi
fi
echo "inside: ok"
EOF

# --- the throwaway view of this machine ------------------------------------------------------
cat >"$T/outside.sh" <<'EOF'
set -euo pipefail
M=$T/m
mkdir -p "$T/ovl" "$M"
mount -t tmpfs -o mode=0755 tmpfs "$T/ovl"
mkdir "$T/ovl/up" "$T/ovl/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$T/ovl/up,workdir=$T/ovl/work" "$M"
mount -t proc proc "$M/proc"
mount --rbind /dev "$M/dev"
mount --rbind /sys "$M/sys"
mount -t tmpfs tmpfs "$M/tmp"
# Only the module sources: tar would turn the merged-/usr links (/lib) into directories.
for d in $DEBS; do dpkg-deb -x "$d" "$T/x"; done
cp -a "$T/x/usr/src/." "$M/usr/src/"
rm -rf "$M/var/lib/kmbuild" "$M/var/lib/dkms" "$M/etc/kmbuild" "$M/etc/dkms"
cp "$T/inside.sh" "$M/tmp/inside.sh"
chroot "$M" env KNEW="$KNEW" KMBUILD="$KMBUILD" KMB_TEST_SLOW="${KMB_TEST_SLOW:-}" \
	bash /tmp/inside.sh
EOF
export T KNEW KMBUILD DEBS="$debs"
unshare --mount --propagation private bash "$T/outside.sh" ||
	fail "real packages (see above)"
echo ok
