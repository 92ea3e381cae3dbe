# Helpers for the verify/doctor tests (50-55): real Debian kernel packages and real modules
# with one defect each. Source after lib-test.sh. The kernel packages are cached by lib-deb.sh
# (shared with 35-qemu-sigenforce.sh); the defect modules, built by kmbt_build_defects, in
# $KMB_TEST_CACHE/verify-mods/<key>/, made the same way (under a lock, moved into place whole).

source "$(dirname "${BASH_SOURCE[0]}")/lib-kernels.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib-deb.sh"
KMBT_SIGNFILE=/usr/lib/linux-kbuild-6.1/scripts/sign-file

# kmbt_abi_headers same|other: "REL DIR" of the headers of a Debian 6.1 kernel whose ABI is
# (same) or is not (other) $KNEW's: an installed kernel when one is, else one from the apt
# index unpacked into the cache (deb_headers). Fails when no kernel has that property.
kmbt_abi_headers() {
	local want=$1 ref k dir is
	ref=$(headers_abi "/usr/src/linux-headers-$KNEW")
	k=$(kernels_by_abi "$want" "$KNEW" | head -n 1)
	[ -z "$k" ] || { echo "$k /usr/src/linux-headers-$k"; return 0; }
	for k in $(kmbt_apt_candidates "$want"); do
		dir=$(deb_headers "$k") || continue
		[ "$(headers_abi "$dir")" = "$ref" ] && is=same || is=other
		[ "$is" != "$want" ] || { echo "$k $dir"; return 0; }
	done
	return 1
}

# kmbt_apt_candidates same|other: the kernels in the apt index, newest first, that are not
# installed and are likely to have that ABI relation to $KNEW: a rebuild of the same upstream
# version (6.1.192-2 and 6.1.192-3) often keeps the ABI, another upstream version never does.
# Only a guess to download less: kmbt_abi_headers compares the CRCs.
kmbt_apt_candidates() {
	local up cand ver
	up=$(dpkg-query -W -f='${Version}' "linux-headers-$KNEW" 2>/dev/null || true)
	for cand in $(apt-cache search --names-only '^linux-headers-6\.1\.0-[0-9]+-amd64$' 2>/dev/null |
		sed -n 's/^linux-headers-\(6\.1\.0-[0-9]*-amd64\) .*/\1/p' | sort -V -r); do
		[ ! -e "/usr/src/linux-headers-$cand" ] || continue
		ver=$(apt-cache show "linux-headers-$cand" 2>/dev/null | sed -n 's/^Version: //p' |
			head -n 1)
		if [ "${ver%-*}" = "${up%-*}" ]; then
			[ "$1" = same ] && echo "$cand"
		else
			[ "$1" = other ] && echo "$cand"
		fi
	done
	return 0
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
#   kmbsameabi  kmbgood built with the headers of another kernel with $KNEW's ABI
#   kmboldabi   kmbgood built with the headers of a kernel with another ABI (module_layout)
#   kmbsbok/kmbsbunsigned/kmbsbother  signed with the enrolled key / unsigned / another key
# kmbt_build_defects OUT: fills OUT/new/*.ko, OUT/v2/kmbprova.ko, OUT/keys/, and, when a
# kernel with that property exists (kmbt_abi_headers), OUT/same/kmbsameabi.ko and
# OUT/abi/kmboldabi.ko, each beside a file "release" naming the kernel. Sets SAME and OTHER
# to those releases (empty when there is none). Cached.
kmbt_build_defects() {
	local out=$1 same other key cache
	same=$(kmbt_abi_headers same || true)
	other=$(kmbt_abi_headers other || true)
	key=$( (cat "${BASH_SOURCE[0]}"; echo "$KNEW $same $other") | sha256sum | cut -c1-16)
	cache=$KMB_TEST_CACHE/verify-mods/$key
	if [ ! -f "$cache/done" ]; then
		cache_lock "mods-$key"
		[ -f "$cache/done" ] || kmbt_build_defects_into "$cache" "$same" "$other" ||
			{ cache_unlock; fail "building the defect modules failed"; }
		cache_unlock
	fi
	mkdir -p "$out"
	cp -a "$cache/." "$out/"
	SAME=${same%% *}
	OTHER=${other%% *}
}

# kmbt_defect_sandbox: the defect set in M=$T/mods (kmbt_build_defects) and an empty module
# directory D=$ROOT/lib/modules/$KNEW/extra for the test to fill.
kmbt_defect_sandbox() {
	command -v depmod >/dev/null || skip "depmod (kmod) not installed"
	M=$T/mods
	kmbt_build_defects "$M"
	D=$ROOT/lib/modules/$KNEW/extra
	mkdir -p "$D"
}

# kmbt_make DIR HEADERS [MAKE ARGS...]: kbuild's `modules` for the sources in DIR.
kmbt_make() {
	local dir=$1 hdr=$2
	shift 2
	echo "obj-m := $(cd "$dir" && ls *.c | sed 's/\.c$/.o/' | tr '\n' ' ')" >"$dir/Makefile"
	make -s -C "$hdr" M="$dir" "$@" modules >"$dir/build.log" 2>&1 ||
		{ cat "$dir/build.log" >&2; return 1; }
}

# kmbt_abi_module DIR NAME "REL HEADERS": the healthy module NAME built for another kernel.
kmbt_abi_module() {
	[ -n "$3" ] || return 0
	mkdir -p "$1"
	kmbt_src "$1" "$2" GPL "$KMBT_HELLO"
	kmbt_make "$1" "${3#* }" || return 1
	echo "${3%% *}" >"$1/release"
}

KMBT_HELLO='static int __init m_init(void) { pr_info("%s loaded\n", KBUILD_MODNAME); return 0; }
static void __exit m_exit(void) { }
module_init(m_init);
module_exit(m_exit);'

kmbt_build_defects_into() {
	local dest=$1 same=$2 other=$3 w hello=$KMBT_HELLO
	w=$(mktemp -d "$KMB_TEST_CACHE/.mods.XXXXXX")
	mkdir -p "$w/new" "$w/v2" "$w/keys"
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
	# The unknown symbol is a modpost error unless told to warn.
	kmbt_make "$w/new" "/usr/src/linux-headers-$KNEW" KBUILD_MODPOST_WARN=1 || return 1

	# v2 of kmbprova: kmb_crc_fn changes type (new CRC), kmb_gpl_fn becomes GPL-only.
	kmbt_src "$w/v2" kmbprova GPL "long kmb_crc_fn(long x) { return x + 1; }
EXPORT_SYMBOL(kmb_crc_fn);
int kmb_gpl_fn(int x) { return x + 2; }
EXPORT_SYMBOL_GPL(kmb_gpl_fn);
$hello"
	kmbt_make "$w/v2" "/usr/src/linux-headers-$KNEW" || return 1
	kmbt_abi_module "$w/same" kmbsameabi "$same" || return 1
	kmbt_abi_module "$w/abi" kmboldabi "$other" || return 1

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
