# Helpers of the end-to-end test: a cached Debian 12 base system, a chroot with /proc, /sys and
# /dev mounted (always unmounted again by a trap), and timings. Source it from bash.
#
# Cache (outside the repo, reused between runs): $E2E_CACHE, default /var/cache/kmbuild-test/e2e
#   base-<hash>.tar.zst   debootstrap'd bookworm + what kmbuild and kbuild need (key: package list)
#   archives/             apt's .deb cache, bind-mounted into every chroot (kernel packages)
source "$(dirname "${BASH_SOURCE[0]}")/lib-base.sh"

: "${E2E_CACHE:=/var/cache/kmbuild-test/e2e}"
: "${E2E_MIRROR:=http://deb.debian.org/debian}"
: "${E2E_SECURITY:=http://deb.debian.org/debian-security}"
: "${E2E_SUITE:=bookworm}"

# Runtime libraries of kmbuild, kbuild's toolchain, the initramfs tool, and small tools the test
# uses inside the chroot. Changing this list changes the cache key.
E2E_PACKAGES="libkmod2 libelf1 libarchive13 libcurl4 libssl3 kmod make gcc libc6-dev
	initramfs-tools zstd xz-utils cpio openssl"

e2e_t0=$(date +%s)
e2e_tlast=$e2e_t0
# step NAME: print how long the previous step took and the total so far.
step() {
	local now
	now=$(date +%s)
	printf '[e2e %4ds +%3ds] %s\n' $((now - e2e_t0)) $((now - e2e_tlast)) "$*"
	e2e_tlast=$now
}

e2e_base_key() {
	printf '%s %s %s\n' "$E2E_SUITE" "$E2E_MIRROR" "$E2E_PACKAGES" | tr -s ' \t\n' ' ' |
		sha256sum | cut -c1-12
}

# e2e_base: path of the cached base tarball, made on first use (debootstrap from the mirror).
e2e_base() {
	local key tar tmp
	key=$(e2e_base_key)
	tar=$E2E_CACHE/base-$key.tar.zst
	if [ -s "$tar" ]; then
		echo "$tar"
		return 0
	fi
	mkdir -p "$E2E_CACHE"
	tmp=$(mktemp -d "$E2E_CACHE/debootstrap.XXXXXX")
	echo "e2e: building the base system (once; cached as $tar)" >&2
	if ! debootstrap --variant=minbase --include="$(echo $E2E_PACKAGES | tr ' ' ',')" \
		"$E2E_SUITE" "$tmp/root" "$E2E_MIRROR" >"$tmp/debootstrap.log" 2>&1; then
		tail -n 20 "$tmp/debootstrap.log" >&2
		rm -rf "$tmp"
		echo "e2e: debootstrap failed" >&2
		return 1
	fi
	cat >"$tmp/root/etc/apt/sources.list" <<EOF
deb $E2E_MIRROR $E2E_SUITE main
deb $E2E_MIRROR $E2E_SUITE-updates main
deb $E2E_SECURITY $E2E_SUITE-security main
EOF
	rm -f "$tmp/root/var/cache/apt/archives/"*.deb
	tar -C "$tmp/root" --zstd -cf "$tmp/base.tar.zst" .
	mv "$tmp/base.tar.zst" "$tar"
	rm -rf "$tmp"
	echo "$tar"
}

# The chroot. E2E_ROOT is set by e2e_chroot_new; mounts are tracked so the trap undoes them.
E2E_MOUNTS=()
e2e_mount() { # e2e_mount ARGS... TARGET
	mount "$@"
	E2E_MOUNTS+=("${!#}")
}
e2e_umount_all() {
	local i
	for ((i = ${#E2E_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount -l "${E2E_MOUNTS[$i]}" 2>/dev/null || true
	done
	E2E_MOUNTS=()
}

# e2e_chroot_new DIR: unpack the base into DIR/root, mount what dpkg and kbuild need, block
# services, bind apt's archive cache.
e2e_chroot_new() {
	local dir=$1 base
	base=$(e2e_base)
	E2E_ROOT=$dir/root
	mkdir -p "$E2E_ROOT" "$E2E_CACHE/archives/partial"
	tar -C "$E2E_ROOT" --zstd -xf "$base"
	e2e_mount -t proc proc "$E2E_ROOT/proc"
	e2e_mount -t sysfs sysfs "$E2E_ROOT/sys"
	e2e_mount --bind /dev "$E2E_ROOT/dev"
	e2e_mount -t devpts devpts "$E2E_ROOT/dev/pts" -o newinstance,ptmxmode=0666
	e2e_mount --bind "$E2E_CACHE/archives" "$E2E_ROOT/var/cache/apt/archives"
	printf '#!/bin/sh\nexit 101\n' >"$E2E_ROOT/usr/sbin/policy-rc.d"
	chmod 755 "$E2E_ROOT/usr/sbin/policy-rc.d"
	cp /etc/resolv.conf "$E2E_ROOT/etc/resolv.conf" 2>/dev/null || true
	# Keep the downloaded kernel packages for the next run.
	echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' \
		>"$E2E_ROOT/etc/apt/apt.conf.d/01keep-debs"
}

# in_chroot CMD...: run a command inside the chroot with a clean, C-locale environment.
in_chroot() {
	env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LC_ALL=C DEBIAN_FRONTEND=noninteractive TERM=dumb chroot "$E2E_ROOT" "$@"
}
