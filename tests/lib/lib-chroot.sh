# Debian systems in a chroot, for the end-to-end test (lib-e2e.sh) and scripts/fresh-check:
# debootstrap, the mounts a running system has, and the undoing of every one of them. Needs
# root and fail (lib-base.sh).
#
# The chroot's / is a mount point of its own, as on a real machine: `unshare -m` (mount
# namespaces, 51-verify-initramfs) cannot make a root that is not one private. Every mount is
# tracked; chroot_umount_all, to be called from an EXIT trap, undoes them and whatever a run
# inside mounted below the root, innermost first.

CHROOT=
CHROOT_MOUNTS=()

# chroot_debootstrap DIR SUITE MIRROR SECURITY_MIRROR [PACKAGE...]: a minbase Debian SUITE in
# DIR with PACKAGE... and the sources.list of an installed system (main, -updates, -security).
chroot_debootstrap() {
	local dir=$1 suite=$2 mirror=$3 security=$4 log
	shift 4
	log=$(dirname "$dir")/debootstrap.log
	local include=()
	[ $# = 0 ] || include=("--include=$(echo "$@" | tr -s ' \t\n' ',')")
	debootstrap --variant=minbase "${include[@]}" "$suite" "$dir" "$mirror" >"$log" 2>&1 || {
		tail -n 20 "$log" >&2
		fail "debootstrap of $suite from $mirror failed"
	}
	cat >"$dir/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
EOF
}

# chroot_mount ARGS... TARGET: mount(8), remembered for chroot_umount_all.
chroot_mount() {
	mount "$@"
	CHROOT_MOUNTS+=("${!#}")
}

# chroot_prepare DIR: DIR becomes $CHROOT, with its root a private mount point, /proc, /sys,
# /dev (its own /dev/pts and /dev/shm), name resolution, and no service started by a package.
chroot_prepare() {
	CHROOT=$1
	chroot_mount --bind "$CHROOT" "$CHROOT"
	mount --make-private "$CHROOT"
	chroot_mount -t proc proc "$CHROOT/proc"
	chroot_mount -t sysfs sysfs "$CHROOT/sys"
	chroot_mount --bind /dev "$CHROOT/dev"
	chroot_mount -t devpts devpts "$CHROOT/dev/pts" -o newinstance,ptmxmode=0666
	chroot_mount -t tmpfs tmpfs "$CHROOT/dev/shm"
	printf '#!/bin/sh\nexit 101\n' >"$CHROOT/usr/sbin/policy-rc.d"
	chmod 755 "$CHROOT/usr/sbin/policy-rc.d"
	cp /etc/resolv.conf "$CHROOT/etc/resolv.conf" 2>/dev/null || true
}

# in_chroot CMD...: run a command inside the chroot with a clean, C-locale environment.
in_chroot() {
	env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LC_ALL=C DEBIAN_FRONTEND=noninteractive TERM=dumb chroot "$CHROOT" "$@"
}

# chroot_umount_all: stop what still runs inside the chroot (only this run started anything
# there), then unmount, innermost first: what a run inside mounted below the root, then the
# tracked mounts in reverse order.
chroot_umount_all() {
	[ -n "$CHROOT" ] || return 0
	local p m i
	for p in /proc/[0-9]*; do
		if [ "$(readlink "$p/root" 2>/dev/null)" = "$CHROOT" ]; then
			kill -9 "${p#/proc/}" 2>/dev/null || true
		fi
	done
	for m in $(awk -v r="$CHROOT/" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo |
		sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
	for ((i = ${#CHROOT_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount -l "${CHROOT_MOUNTS[$i]}" 2>/dev/null || true
	done
	CHROOT_MOUNTS=()
}
