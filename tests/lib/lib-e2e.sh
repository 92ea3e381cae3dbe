# Helpers of the end-to-end test: a cached Debian 12 base system, a chroot of it (lib-chroot.sh:
# mounts always undone by chroot_umount_all from a trap), and timings. Source it from bash.
#
# Cache (outside the repo, reused between runs): $E2E_CACHE, default /var/cache/kmbuild-test/e2e
#   base-<hash>.tar.zst   debootstrap'd bookworm + what kmbuild and kbuild need (key: package list)
#   archives/             apt's .deb cache, bind-mounted into every chroot (kernel packages)
source "$(dirname "${BASH_SOURCE[0]}")/lib-base.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib-chroot.sh"

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
	(chroot_debootstrap "$tmp/root" "$E2E_SUITE" "$E2E_MIRROR" "$E2E_SECURITY" $E2E_PACKAGES) ||
		{ rm -rf "$tmp"; return 1; }
	rm -f "$tmp/root/var/cache/apt/archives/"*.deb
	tar -C "$tmp/root" --zstd -cf "$tmp/base.tar.zst" .
	mv "$tmp/base.tar.zst" "$tar"
	rm -rf "$tmp"
	echo "$tar"
}

# e2e_chroot_new DIR: unpack the base into DIR/root, the chroot ($CHROOT, lib-chroot.sh), with
# apt's archive cache bound in.
e2e_chroot_new() {
	local root=$1/root base
	base=$(e2e_base)
	mkdir -p "$root" "$E2E_CACHE/archives/partial"
	tar -C "$root" --zstd -xf "$base"
	chroot_prepare "$root"
	chroot_mount --bind "$E2E_CACHE/archives" "$CHROOT/var/cache/apt/archives"
	# Keep the downloaded kernel packages for the next run.
	echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' \
		>"$CHROOT/etc/apt/apt.conf.d/01keep-debs"
}
