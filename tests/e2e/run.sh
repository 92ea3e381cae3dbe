#!/bin/bash
# End-to-end: kmbuild's Debian hooks driven by real apt/dpkg kernel packages in a Debian 12
# chroot, then the resulting kernel + initramfs booted under qemu (TCG).
#
#  1. install path   apt-get install linux-image-K1 + linux-headers-K1 (not yet installed):
#                    the hook built, signed (kmbuild mok generate) and installed both modules
#                    before initramfs-tools ran; modules.dep lists them; the initramfs holds
#                    the initramfs module byte-identical; initramfs generated once; verify
#                    passes; dpkg shows the kernel configured (ii).
#  2. failure path   a module that cannot build + a reinstall of K1 (preinst.d marks K1 for a
#                    rebuild): the kernel is still configured, initramfs-tools still ran.
#  3. headers later  apt-get install linux-image-K2, then linux-headers-K2: the headers hook
#                    builds and regenerates K2's initramfs (once), which then holds the module.
#  4. remove         apt-get remove K2: its builds are gone, depmod ran once.
#  5. boot           qemu boots K1 with its initramfs; initramfs-tools' init loads the module.
#
# Needs root, debootstrap, qemu-system-x86_64 and the Debian archive. Writes only to a
# temporary directory and to the cache (tests/lib/lib-e2e.sh); never to the host's /boot,
# /lib/modules or /etc/kernel. Exit 0 pass, 77 skip, 1 fail.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
source "$top/tests/lib/lib-e2e.sh"

[ "$(id -u)" = 0 ] || skip "needs root (chroot, mounts)"
for t in debootstrap qemu-system-x86_64 zstd; do
	command -v "$t" >/dev/null || skip "$t not installed (scripts/install-deps)"
done
[ -x "$top/kmbuild" ] || fail "build kmbuild first (make)"

W=$(mktemp -d /var/tmp/kmbuild-e2e.XXXXXX)
cleanup() {
	chroot_umount_all
	if [ -n "${KMB_KEEP:-}" ]; then
		echo "kept $W"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT

step "unpack the base system"
e2e_chroot_new "$W"
R=$CHROOT
echo 'APT::Install-Recommends "false";' >"$R/etc/apt/apt.conf.d/02norecommends"
# Count depmod runs: depmod (a link to kmod) replaced by a shim that logs each call.
[ -L "$R/usr/sbin/depmod" ] || fail "/usr/sbin/depmod in the chroot is not kmod's link"
rm "$R/usr/sbin/depmod"
cat >"$R/usr/sbin/depmod" <<'EOF'
#!/bin/bash
echo "depmod $*" >>/var/log/depmod-calls
exec -a depmod /bin/kmod "$@"
EOF
chmod 755 "$R/usr/sbin/depmod"

step "apt-get update in the chroot"
in_chroot apt-get update -qq >"$W/update.log" 2>&1 || {
	cat "$W/update.log"
	fail "apt-get update"
}
# Two kernels whose image and headers both exist in the archive, newest first.
mapfile -t ks < <(in_chroot apt-cache search --names-only '^linux-headers-6\.1\.0-[0-9]+-amd64$' |
	sed -n 's/^linux-headers-\(6\.1\.0-[0-9]*-amd64\) .*/\1/p' | sort -V -r)
K1=${ks[0]:-}
K2=${ks[1]:-}
[ -n "$K1" ] && [ -n "$K2" ] || fail "fewer than two 6.1 kernels in the archive: ${ks[*]}"
for k in "$K1" "$K2"; do
	in_chroot apt-cache show "linux-image-$k" >/dev/null 2>&1 || fail "no linux-image-$k"
	! in_chroot dpkg -s "linux-image-$k" >/dev/null 2>&1 || fail "$k already installed"
done
echo "kernels: K1=$K1 (install path) K2=$K2 (headers-later path)"

step "make install DESTDIR=<chroot>"
make -s -C "$top" install DESTDIR="$R" PREFIX=/usr SYSCONFDIR=/etc >"$W/install.log" 2>&1 ||
	{
		cat "$W/install.log"
		fail "make install"
	}
# The headers-later path (3.) is what is under test: with the default policy the image's
# hook would download the missing headers itself (tested in 44-headers-autoinstall).
echo "headers = never" >>"$R/etc/kmbuild/kmbuild.conf"
in_chroot kmbuild --version >/dev/null 2>&1 || in_chroot kmbuild status >/dev/null ||
	fail "kmbuild does not run in the chroot (runtime libraries?)"
for d in preinst.d postinst.d header_postinst.d prerm.d; do
	[ -x "$R/etc/kernel/$d/10-kmbuild" ] || fail "hook /etc/kernel/$d/10-kmbuild not installed"
done

step "signing key (kmbuild mok generate) and two modules"
in_chroot kmbuild mok generate --cn "kmbuild e2e key" >"$W/mok.log" 2>&1 ||
	{
		cat "$W/mok.log"
		fail "kmbuild mok generate"
	}
cn=$(openssl x509 -inform DER -in "$R/var/lib/kmbuild/mok/kmbuild.der" -noout -subject |
	sed -n 's/.*CN *= *//p')
[ "$cn" = "kmbuild e2e key" ] || fail "MOK certificate CN is '$cn'"

mkmod_src() { # mkmod_src NAME EXTRA_DKMS_CONF [BROKEN]
	local d=$R/usr/src/$1-1.0
	mkdir -p "$d"
	cat >"$d/$1.c" <<EOC
#include <linux/module.h>
#include <linux/init.h>
${3:-}
static int __init $1_init(void) { pr_info("$1 loaded from %s\\n", THIS_MODULE->name); return 0; }
static void __exit $1_exit(void) { }
module_init($1_init);
module_exit($1_exit);
MODULE_LICENSE("GPL");
MODULE_VERSION("1.0");
EOC
	echo "obj-m := $1.o" >"$d/Makefile"
	printf 'PACKAGE_NAME="%s"\nPACKAGE_VERSION="1.0"\nBUILT_MODULE_NAME[0]="%s"\n' "$1" "$1" \
		>"$d/dkms.conf"
	printf 'DEST_MODULE_LOCATION[0]="/extra"\nAUTOINSTALL="yes"\n%s\n' "$2" >>"$d/dkms.conf"
	in_chroot kmbuild add "/usr/src/$1-1.0" >/dev/null
}
mkmod_src kmbt_initrd 'REMAKE_INITRD="yes"'
mkmod_src kmbt_plain ''
# The initramfs module is one initramfs-tools is told to include (and its init to load);
# MODULES=list keeps the images small so the test stays fast.
echo kmbt_initrd >>"$R/etc/initramfs-tools/modules"
sed -i 's/^MODULES=.*/MODULES=list/' "$R/etc/initramfs-tools/initramfs.conf"
: >"$R/var/log/depmod-calls"

# ---------------------------------------------------------------------------------------
step "1. apt-get install linux-image-$K1 linux-headers-$K1"
set +e
in_chroot apt-get install -y "linux-image-$K1" "linux-headers-$K1" >"$W/k1.log" 2>&1
rc=$?
set -e
[ $rc = 0 ] || {
	tail -n 40 "$W/k1.log"
	fail "apt-get install K1 exited $rc"
}
grep -E 'kmbuild|Autoinstall|update-initramfs|run-parts' "$W/k1.log" | sed 's/^/    | /'
grep -q "Autoinstall on $K1 succeeded for module(s) kmbt_initrd kmbt_plain." "$W/k1.log" ||
	fail "the kmbuild hook did not build both modules for $K1"
hook_line=$(grep -n "Autoinstall on $K1 succeeded" "$W/k1.log" | head -n1 | cut -d: -f1)
gen_line=$(grep -n "update-initramfs: Generating /boot/initrd.img-$K1" "$W/k1.log" | head -n1 |
	cut -d: -f1)
[ -n "$gen_line" ] || fail "initramfs-tools did not run for $K1"
[ "$hook_line" -lt "$gen_line" ] || fail "the initramfs was made before kmbuild's hook ran"
n=$(grep -c "update-initramfs: Generating /boot/initrd.img-$K1\|Regenerating the initramfs" \
	"$W/k1.log" || true)
[ "$n" = 1 ] || fail "the initramfs of $K1 was generated $n times (want once)"
for p in "linux-image-$K1" "linux-headers-$K1"; do
	st=$(in_chroot dpkg-query -W -f='${db:Status-Abbrev}' "$p")
	[ "$st" = "ii " ] || fail "$p is '$st', not fully configured"
done
M=/lib/modules/$K1/updates/dkms
for m in kmbt_initrd kmbt_plain; do
	[ -f "$R$M/$m.ko" ] || fail "$M/$m.ko not installed"
	signer=$(in_chroot modinfo -F signer "$M/$m.ko")
	[ "$signer" = "$cn" ] || fail "$m.ko signer is '$signer', want '$cn'"
	grep -q "^updates/dkms/$m.ko:" "$R/lib/modules/$K1/modules.dep" ||
		fail "modules.dep of $K1 does not list $m"
done
in_chroot kmbuild status | sed 's/^/    status: /'
# The image, unpacked by initramfs-tools' own unmkinitramfs, carries the installed bytes.
in_chroot unmkinitramfs "/boot/initrd.img-$K1" /tmp/ird1 >/dev/null
ird=$(find "$R/tmp/ird1" -path "*/lib/modules/$K1/updates/dkms/kmbt_initrd.ko" | head -n1)
[ -n "$ird" ] || fail "initrd.img-$K1 does not contain kmbt_initrd.ko"
cmp "$ird" "$R$M/kmbt_initrd.ko" || fail "kmbt_initrd.ko in the initramfs differs"
! find "$R/tmp/ird1" -name kmbt_plain.ko | grep -q . || fail "kmbt_plain.ko is in the initramfs"
in_chroot kmbuild initramfs -k "$K1" --check | sed 's/^/    /' ||
	fail "kmbuild initramfs --check says the fresh image is stale"
set +e
in_chroot kmbuild verify -k "$K1" >"$W/verify.log" 2>&1
vrc=$?
set -e
sed 's/^/    verify: /' "$W/verify.log" | head -n 30
[ $vrc -le 1 ] || fail "kmbuild verify -k $K1 exited $vrc (something would fail at boot)"

# ---------------------------------------------------------------------------------------
step "2. failure path: a module that cannot build, kernel $K1 reinstalled"
mkmod_src kmbt_broken '' 'this does not compile;'
cp "$R$M/kmbt_initrd.ko" "$W/initrd-before.ko"
set +e
in_chroot apt-get install -y --reinstall "linux-image-$K1" >"$W/k1b.log" 2>&1
rc=$?
set -e
grep -E 'kmbuild|Autoinstall|update-initramfs|FAILED' "$W/k1b.log" | sed 's/^/    | /'
[ $rc = 0 ] || fail "apt-get install --reinstall exited $rc: a failing module broke the kernel"
st=$(in_chroot dpkg-query -W -f='${db:Status-Abbrev}' "linux-image-$K1")
[ "$st" = "ii " ] || fail "linux-image-$K1 is '$st' after a module failed"
grep -q "Autoinstall on $K1 failed for module(s) kmbt_broken" "$W/k1b.log" ||
	fail "the failure was not reported"
grep -q "kmbuild: WARNING: kmbt_broken/1.0 failed for $K1" "$W/k1b.log" ||
	fail "the failure was not reported loudly"
grep -q "log: /var/lib/kmbuild/kmbt_broken/1.0/$K1/x86_64/log/make.log" "$W/k1b.log" ||
	fail "the failure report names no log"
grep -q "Autoinstall on $K1 succeeded for module(s) kmbt_initrd kmbt_plain" "$W/k1b.log" ||
	fail "the reinstall (preinst.d) did not rebuild the good modules"
grep -q "update-initramfs: Generating /boot/initrd.img-$K1" "$W/k1b.log" ||
	fail "initramfs-tools did not run after the failing module"
in_chroot kmbuild status kmbt_broken | grep -q "kmbt_broken/1.0, $K1, x86_64: failed" ||
	fail "kmbuild status does not show the failure"
in_chroot kmbuild initramfs -k "$K1" --check >/dev/null || fail "initramfs stale after reinstall"
in_chroot kmbuild remove kmbt_broken/1.0 >/dev/null

# ---------------------------------------------------------------------------------------
step "3. headers later: apt-get install linux-image-$K2, then linux-headers-$K2"
in_chroot apt-get install -y "linux-image-$K2" >"$W/k2.log" 2>&1 || {
	tail -n 30 "$W/k2.log"
	fail "apt-get install linux-image-$K2"
}
grep -E 'kmbuild|update-initramfs' "$W/k2.log" | sed 's/^/    | /'
grep -q "no kernel headers for $K2 yet" "$W/k2.log" || fail "missing headers not explained"
[ ! -e "$R/lib/modules/$K2/updates/dkms/kmbt_initrd.ko" ] || fail "built without headers?"
in_chroot apt-get install -y "linux-headers-$K2" >"$W/k2h.log" 2>&1 || {
	tail -n 30 "$W/k2h.log"
	fail "apt-get install linux-headers-$K2"
}
grep -E 'kmbuild|Autoinstall|initramfs' "$W/k2h.log" | sed 's/^/    | /'
grep -q "Autoinstall on $K2 succeeded for module(s) kmbt_initrd kmbt_plain." "$W/k2h.log" ||
	fail "the headers hook did not build for $K2"
n=$(grep -c "update-initramfs: Generating /boot/initrd.img-$K2" "$W/k2h.log" || true)
[ "$n" = 1 ] || fail "K2's initramfs regenerated $n times after its headers (want once)"
in_chroot unmkinitramfs "/boot/initrd.img-$K2" /tmp/ird2 >/dev/null
ird=$(find "$R/tmp/ird2" -path "*/lib/modules/$K2/updates/dkms/kmbt_initrd.ko" | head -n1)
[ -n "$ird" ] || fail "K2's regenerated initramfs lacks kmbt_initrd.ko"
cmp "$ird" "$R/lib/modules/$K2/updates/dkms/kmbt_initrd.ko" || fail "K2 initramfs copy differs"
[ ! -e "$R/boot/initrd.img-$K2.kmbuild-old" ] || fail "backup image left behind"

# ---------------------------------------------------------------------------------------
step "4. apt-get remove linux-image-$K2 linux-headers-$K2"
: >"$R/var/log/depmod-calls"
in_chroot apt-get remove -y "linux-image-$K2" "linux-headers-$K2" >"$W/k2r.log" 2>&1 || {
	tail -n 30 "$W/k2r.log"
	fail "apt-get remove K2"
}
grep -E 'kmbuild' "$W/k2r.log" | sed 's/^/    | /'
for m in kmbt_initrd kmbt_plain; do
	[ ! -e "$R/var/lib/kmbuild/$m/1.0/$K2" ] || fail "build of $m for $K2 left behind"
	[ ! -e "$R/var/lib/kmbuild/$m/kernel-$K2-x86_64" ] || fail "$m still marked installed"
done
[ ! -e "$R/lib/modules/$K2/updates" ] || fail "/lib/modules/$K2/updates left behind"
n=$(grep -c "$K2" "$R/var/log/depmod-calls" || true)
[ "$n" = 1 ] || fail "depmod ran $n times for $K2 during removal (want 1)"
in_chroot kmbuild status | grep -q "$K1, x86_64: installed" || fail "K1's modules were touched"

# ---------------------------------------------------------------------------------------
step "5. boot $K1 with its initramfs under qemu (TCG)"
cp "$R/boot/vmlinuz-$K1" "$R/boot/initrd.img-$K1" "$W/"
# initramfs-tools' init modprobes /conf/modules (our module), then break=premount panics,
# and panic=-1 reboots at once; -no-reboot turns that into qemu exiting.
set +e
timeout 300 qemu-system-x86_64 -accel tcg -m 1024 -nographic -no-reboot -smp 1 \
	-kernel "$W/vmlinuz-$K1" -initrd "$W/initrd.img-$K1" \
	-append "console=ttyS0 loglevel=7 break=premount panic=-1" >"$W/serial.log" 2>&1 </dev/null
qrc=$?
set -e
grep -E 'kmbt_initrd|Rebooting|Kernel panic|Spawning' "$W/serial.log" | sed 's/^/    serial: /'
grep -q "kmbt_initrd loaded from kmbt_initrd" "$W/serial.log" || {
	tail -n 40 "$W/serial.log"
	fail "the initramfs module did not load at boot (qemu exit $qrc)"
}
step "done: all assertions passed"
