# Helpers for the verify/doctor tests (50-55): real Debian kernel packages and real modules
# with one defect each. Source after lib-test.sh. Downloads and builds are cached in
# /var/cache/kmbuild-test (shared with the other qemu test, 35-qemu-sigenforce.sh):
#   debs/                       .deb files as apt-get download leaves them
#   linux-image-<rel>/root      a linux-image package extracted, with depmod run on it
#   headers/<rel>/root          a linux-headers package (+ -common) extracted, made buildable
#   verify-mods/<key>/          the defect modules built by kmbt_build_defects
# Everything is created under a lock and moved into place atomically, so a killed or
# concurrent run never leaves half a cache entry.

KMBT_CACHE=${KMBT_CACHE:-/var/cache/kmbuild-test}
KMBT_SIGNFILE=/usr/lib/linux-kbuild-6.1/scripts/sign-file

kmbt_lock() { # name: take an exclusive lock held until the test exits
	mkdir -p "$KMBT_CACHE"
	exec {KMBT_LOCK_FD}>"$KMBT_CACHE/.lock-$1"
	flock -w 600 "$KMBT_LOCK_FD" || fail "could not lock $KMBT_CACHE/.lock-$1"
}
kmbt_unlock() { exec {KMBT_LOCK_FD}>&-; }

# kmbt_deb PACKAGE: path of the cached .deb, downloaded with apt-get when missing.
kmbt_deb() {
	local pkg=$1 d=$KMBT_CACHE/debs f
	mkdir -p "$d"
	f=$(ls "$d/${pkg}_"*.deb 2>/dev/null | head -n 1 || true)
	if [ -z "$f" ]; then
		local tmp
		tmp=$(mktemp -d "$d/.dl.XXXXXX")
		(cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1) || {
			rm -rf "$tmp"
			apt-get update >/dev/null 2>&1 || true
			tmp=$(mktemp -d "$d/.dl.XXXXXX")
			(cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1) || { rm -rf "$tmp"; return 1; }
		}
		mv "$tmp"/*.deb "$d/" && rmdir "$tmp"
		f=$(ls "$d/${pkg}_"*.deb | head -n 1)
	fi
	echo "$f"
}

# kmbt_linux_image REL: root dir holding boot/vmlinuz-REL, boot/config-REL, lib/modules/REL
# (with modules.dep from depmod). Read-only for the tests.
kmbt_linux_image() {
	local rel=$1 dir=$KMBT_CACHE/linux-image-$1
	if [ ! -d "$dir/root/lib/modules/$rel" ]; then
		kmbt_lock "image-$rel"
		if [ ! -d "$dir/root/lib/modules/$rel" ]; then
			local deb tmp
			deb=$(kmbt_deb "linux-image-$rel") || { kmbt_unlock; return 1; }
			tmp=$(mktemp -d "$KMBT_CACHE/.img.XXXXXX")
			dpkg-deb -x "$deb" "$tmp/root" && depmod -b "$tmp/root" "$rel" ||
				{ rm -rf "$tmp"; kmbt_unlock; return 1; }
			rm -rf "$dir"
			mv "$tmp" "$dir"
		fi
		kmbt_unlock
	fi
	echo "$dir/root"
}

kmbt_symvers_crc() { # FILE SYMBOL
	awk -F'\t' -v s="$2" '$2 == s { print $1; exit }' "$1"
}

# kmbt_other_abi_headers: release and headers dir of a Debian 6.1 kernel whose ABI differs
# from $KNEW's (module_layout CRC), made buildable in the cache. Prints "REL DIR".
kmbt_other_abi_headers() {
	local new_ver new_crc n cand rel ver dir
	new_ver=$(dpkg-query -W -f='${Version}' "linux-headers-$KNEW" 2>/dev/null || true)
	new_crc=$(kmbt_symvers_crc "/usr/src/linux-headers-$KNEW/Module.symvers" module_layout)
	n=$(sed -n 's/^6\.1\.0-\([0-9]*\)-amd64$/\1/p' <<<"$KNEW")
	[ -n "$n" ] || return 1
	for cand in $(apt-cache search --names-only '^linux-headers-6\.1\.0-[0-9]+-amd64$' 2>/dev/null |
		sed -n 's/^linux-headers-6\.1\.0-\([0-9]*\)-amd64 .*/\1/p' | sort -rn); do
		[ "$cand" -lt "$n" ] || continue
		rel=6.1.0-$cand-amd64
		dir=$KMBT_CACHE/headers/$rel/root/usr/src/linux-headers-$rel
		if [ -f "$dir/Module.symvers" ]; then
			[ "$(kmbt_symvers_crc "$dir/Module.symvers" module_layout)" != "$new_crc" ] &&
				{ echo "$rel $dir"; return 0; }
			continue
		fi
		ver=$(apt-cache show "linux-headers-$rel" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
		# Same upstream version: a rebuild of the same code, same CRCs.
		[ "${ver%-*}" != "${new_ver%-*}" ] || continue
		kmbt_lock "headers-$rel"
		if [ ! -f "$dir/Module.symvers" ]; then
			local a c tmp
			a=$(kmbt_deb "linux-headers-$rel") && c=$(kmbt_deb "linux-headers-${rel%-amd64}-common") ||
				{ kmbt_unlock; return 1; }
			tmp=$(mktemp -d "$KMBT_CACHE/.hdr.XXXXXX")
			dpkg-deb -x "$a" "$tmp/root" && dpkg-deb -x "$c" "$tmp/root" ||
				{ rm -rf "$tmp"; kmbt_unlock; return 1; }
			# The package's Makefile includes the -common tree by absolute path and its
			# scripts are a relative link to the installed linux-kbuild: point both here.
			mkdir -p "$tmp/root/usr/lib"
			ln -s /usr/lib/linux-kbuild-6.1 "$tmp/root/usr/lib/linux-kbuild-6.1"
			mkdir -p "$KMBT_CACHE/headers"
			rm -rf "$KMBT_CACHE/headers/$rel"
			mv "$tmp" "$KMBT_CACHE/headers/$rel"
			sed -i "s#/usr/src/#$KMBT_CACHE/headers/$rel/root/usr/src/#" "$dir/Makefile"
		fi
		kmbt_unlock
		[ "$(kmbt_symvers_crc "$dir/Module.symvers" module_layout)" != "$new_crc" ] &&
			{ echo "$rel $dir"; return 0; }
	done
	return 1
}

# One module source: kmbt_src DIR NAME LICENSE BODY
kmbt_src() {
	cat >"$1/$2.c" <<EOF
#include <linux/module.h>
#include <linux/init.h>
$4
MODULE_LICENSE("$3");
MODULE_DESCRIPTION("kmbuild verify test module $2");
EOF
}

# The defect set. Each module's name says what is wrong with it:
#   kmbgood     healthy                          kmbprova  exports kmb_crc_fn, kmb_gpl_fn
#   kmbprovb    exports kmb_b_fn (never installed)  kmbneedsb needs kmbprovb
#   kmbprovc    exports kmb_c_fn                 kmbneedsc needs kmbprovc (file removed later)
#   kmbunknown  calls a symbol nobody exports    kmbstale  installed after depmod
#   kmbcrc      built against kmbprova v1; installed with v2 whose kmb_crc_fn CRC differs
#   kmbpropr    "Proprietary", uses kmb_gpl_fn: plain export in v1, EXPORT_SYMBOL_GPL in v2
#   kmbsameabi  kmbgood built with $KOLD's headers (same ABI as $KNEW)
#   kmboldabi   kmbgood built with another ABI's headers (module_layout CRC differs)
#   kmbsbok/kmbsbunsigned/kmbsbother  signed with the enrolled key / unsigned / another key
# kmbt_build_defects OUT: fills OUT/new/*.ko, OUT/v2/kmbprova.ko, OUT/old/kmbsameabi.ko,
# OUT/abi/kmboldabi.ko (when other-ABI headers exist), OUT/keys/. Cached.
kmbt_build_defects() {
	local out=$1 other key cache
	other=$(kmbt_other_abi_headers || true)
	key=$( (cat "${BASH_SOURCE[0]}"; echo "$KNEW $KOLD $other") | sha256sum | cut -c1-16)
	cache=$KMBT_CACHE/verify-mods/$key
	if [ ! -f "$cache/done" ]; then
		kmbt_lock "mods-$key"
		[ -f "$cache/done" ] || kmbt_build_defects_into "$cache" "$other" ||
			{ kmbt_unlock; fail "building the defect modules failed"; }
		kmbt_unlock
	fi
	mkdir -p "$out"
	cp -a "$cache/." "$out/"
}

kmbt_build_defects_into() {
	local dest=$1 other=$2 w
	w=$(mktemp -d "$KMBT_CACHE/.mods.XXXXXX")
	mkdir -p "$w/new" "$w/v2" "$w/old" "$w/abi" "$w/keys"
	local hello='static int __init m_init(void) { pr_info("%s loaded\n", KBUILD_MODNAME); return 0; }
static void __exit m_exit(void) { }
module_init(m_init);
module_exit(m_exit);'
	kmbt_src "$w/new" kmbgood GPL "$hello"
	kmbt_src "$w/new" kmbprova GPL "int kmb_crc_fn(int x) { return x + 1; }
EXPORT_SYMBOL(kmb_crc_fn);
int kmb_gpl_fn(int x) { return x + 2; }
EXPORT_SYMBOL(kmb_gpl_fn);
$hello"
	kmbt_src "$w/new" kmbprovb GPL "int kmb_b_fn(void) { return 3; }
EXPORT_SYMBOL(kmb_b_fn);
$hello"
	kmbt_src "$w/new" kmbprovc GPL "int kmb_c_fn(void) { return 4; }
EXPORT_SYMBOL(kmb_c_fn);
$hello"
	local use='static int __init m_init(void) { pr_info("%s: %d\n", KBUILD_MODNAME, CALL); return 0; }
static void __exit m_exit(void) { }
module_init(m_init);
module_exit(m_exit);'
	kmbt_src "$w/new" kmbneedsb GPL "int kmb_b_fn(void);
${use//CALL/kmb_b_fn()}"
	kmbt_src "$w/new" kmbneedsc GPL "int kmb_c_fn(void);
${use//CALL/kmb_c_fn()}"
	kmbt_src "$w/new" kmbunknown GPL "int kmb_nobody_exports_this(void);
${use//CALL/kmb_nobody_exports_this()}"
	kmbt_src "$w/new" kmbcrc GPL "int kmb_crc_fn(int x);
${use//CALL/kmb_crc_fn(1)}"
	kmbt_src "$w/new" kmbpropr Proprietary "int kmb_gpl_fn(int x);
${use//CALL/kmb_gpl_fn(1)}"
	local m
	for m in kmbstale kmbsbok kmbsbunsigned kmbsbother; do
		kmbt_src "$w/new" $m GPL "$hello"
	done
	echo "obj-m := $(cd "$w/new" && ls *.c | sed 's/\.c$/.o/' | tr '\n' ' ')" >"$w/new/Makefile"
	# The unknown symbol is a modpost error unless told to warn.
	make -s -C "/usr/src/linux-headers-$KNEW" M="$w/new" KBUILD_MODPOST_WARN=1 modules \
		>"$w/new/build.log" 2>&1 || { cat "$w/new/build.log" >&2; return 1; }

	# v2 of kmbprova: kmb_crc_fn changes type (new CRC), kmb_gpl_fn becomes GPL-only.
	kmbt_src "$w/v2" kmbprova GPL "long kmb_crc_fn(long x) { return x + 1; }
EXPORT_SYMBOL(kmb_crc_fn);
int kmb_gpl_fn(int x) { return x + 2; }
EXPORT_SYMBOL_GPL(kmb_gpl_fn);
$hello"
	echo "obj-m := kmbprova.o" >"$w/v2/Makefile"
	make -s -C "/usr/src/linux-headers-$KNEW" M="$w/v2" modules >"$w/v2/build.log" 2>&1 ||
		{ cat "$w/v2/build.log" >&2; return 1; }

	kmbt_src "$w/old" kmbsameabi GPL "$hello"
	echo "obj-m := kmbsameabi.o" >"$w/old/Makefile"
	make -s -C "/usr/src/linux-headers-$KOLD" M="$w/old" modules >"$w/old/build.log" 2>&1 ||
		{ cat "$w/old/build.log" >&2; return 1; }

	if [ -n "$other" ]; then
		kmbt_src "$w/abi" kmboldabi GPL "$hello"
		echo "obj-m := kmboldabi.o" >"$w/abi/Makefile"
		make -s -C "${other#* }" M="$w/abi" modules >"$w/abi/build.log" 2>&1 ||
			{ cat "$w/abi/build.log" >&2; return 1; }
		echo "${other% *}" >"$w/abi/release"
	fi

	# Two signing keys: "enrolled" (goes into the MokListRT fixture) and "other".
	local k
	for k in enrolled other; do
		openssl req -new -x509 -newkey rsa:2048 -nodes -days 3650 -outform DER \
			-subj "/CN=kmbuild verify test $k key/" -keyout "$w/keys/$k.key" \
			-out "$w/keys/$k.der" >/dev/null 2>&1 || return 1
	done
	"$KMBT_SIGNFILE" sha256 "$w/keys/enrolled.key" "$w/keys/enrolled.der" "$w/new/kmbsbok.ko"
	"$KMBT_SIGNFILE" sha256 "$w/keys/other.key" "$w/keys/other.der" "$w/new/kmbsbother.ko"
	find "$w" -mindepth 2 \( -name '*.o' -o -name '*.mod' -o -name '*.mod.c' -o -name '.*.cmd' \
		-o -name 'Module.symvers' -o -name 'modules.order' \) -delete
	touch "$w/done"
	mkdir -p "$(dirname "$dest")"
	rm -rf "$dest"
	mv "$w" "$dest"
}

# kmbt_efivars ROOT SB(0|1) [CERT.der]: a fake efivarfs tree: SecureBoot, SetupMode=0 and,
# with a cert, MokListRT holding one EFI_SIGNATURE_LIST with that X.509 certificate.
kmbt_efivars() {
	local root=$1 sb=$2 cert=${3:-} d=$1/sys/firmware/efi/efivars
	local g=8be4df61-93ca-11d2-aa0d-00e098032b8c shim=605dab50-e046-4300-abb6-3dd810dd8b23
	mkdir -p "$d"
	printf '\x06\x00\x00\x00\x0'"$sb" >"$d/SecureBoot-$g"
	printf '\x06\x00\x00\x00\x00' >"$d/SetupMode-$g"
	if [ -n "$cert" ]; then
		perl -e '
			local $/; open(my $f, "<", $ARGV[0]) or die; my $der = <$f>;
			# EFI_CERT_X509_GUID a5c059a1-94e4-4aa7-87b5-ab155c2bf072, owner = shim GUID
			my $type = pack("VvvC8", 0xa5c059a1, 0x94e4, 0x4aa7, 0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72);
			my $owner = pack("VvvC8", 0x605dab50, 0xe046, 0x4300, 0xab, 0xb6, 0x3d, 0xd8, 0x10, 0xdd, 0x8b, 0x23);
			my $sz = 16 + length($der);
			print pack("V", 6), $type, pack("VVV", 28 + $sz, 0, $sz), $owner, $der;
		' "$cert" >"$d/MokListRT-$shim"
	fi
}
