#!/bin/bash
# Real dkms.conf files of Debian *-dkms packages (apt-get download, dpkg-deb -x) and the
# Debian-style fixtures under tests/data/conf/debian: kmbuild's parser must give exactly what
# DKMS 3.4 gets. The DKMS side is DKMS's own safe_source (dkms.in:540-575) and read_conf
# logic (dkms.in:687-886) run by bash below; the kmbuild side is tests/integration/15-conf-dump.c
# linked against the engine objects. Skips (77) when the packages cannot be downloaded.
source "$(dirname "$0")/../lib/lib-test.sh"

PKGS="v4l2loopback-dkms acpi-call-dkms bbswitch-dkms dahdi-dkms digimend-dkms evdi-dkms
      jool-dkms lttng-modules-dkms openafs-modules-dkms openrazer-driver-dkms rapiddisk-dkms
      tp-smapi-dkms xtables-addons-dkms falcosecurity-scap-dkms ddcci-dkms"
K=$KNEW
KSRC=/usr/src/linux-headers-$K
[ -f "$KSRC/.config" ] || skip "no .config in $KSRC"

# --- the kmbuild side ----------------------------------------------------------------------
# Only the parser's own objects (and util.o): the helper must not depend on the rest.
objs=""
for o in conf/conf_load conf/conf_common conf/conf_dkms conf/conf_native conf/conf_shell \
	conf/shlex base/version base/util; do
	[ -f "$KMB_TOP/build/src/$o.o" ] || fail "build/src/$o.o missing (run make kmbuild)"
	objs="$objs $KMB_TOP/build/src/$o.o"
done
# shellcheck disable=SC2086
cc -std=gnu11 -D_GNU_SOURCE -I"$KMB_TOP/src" -o "$T/conf-dump" \
	"$KMB_TOP/tests/integration/15-conf-dump.c" $objs \
	$(pkg-config --libs libkmod libelf libarchive libcurl openssl) -lpthread ||
	fail "cannot build the conf-dump helper"

# --- the DKMS side -------------------------------------------------------------------------
# Prints the same lines as conf-dump, computed the way DKMS 3.4 does.
dkms_view() { # conf
	(
	set +euo pipefail # DKMS runs without them
	cd "$(dirname "$1")"
	shopt -s extglob
	kernelver=$VK arch=$VA kernel_source_dir=$KSRC kernel_config=$KSRC/.config
	dkms_tree=/var/lib/dkms source_tree=/usr/src install_tree=/lib/modules module='' module_version=''
	dkms_conf_variables="PACKAGE_NAME PACKAGE_VERSION POST_ADD POST_BUILD POST_INSTALL
	   POST_REMOVE PRE_BUILD PRE_INSTALL BUILD_DEPENDS BUILD_EXCLUSIVE_ARCH
	   BUILD_EXCLUSIVE_CONFIG BUILD_EXCLUSIVE_KERNEL BUILD_EXCLUSIVE_KERNEL_MIN
	   BUILD_EXCLUSIVE_KERNEL_MAX build_exclude MAKE MAKE_MATCH PATCH PATCH_MATCH patch_array
	   BUILT_MODULE_NAME built_module_name BUILT_MODULE_LOCATION built_module_location
	   DEST_MODULE_NAME dest_module_name DEST_MODULE_LOCATION dest_module_location STRIP strip
	   AUTOINSTALL NO_WEAK_MODULES BUILD_DEPENDS_REBUILD OBSOLETE_BY CLEAN REMAKE_INITRD
	   MODULES_CONF MODULES_CONF_OBSOLETES MODULES_CONF_ALIAS_TYPE MODULES_CONF_OBSOLETE_ONLY"
	# safe_source, as in dkms.in
	safe_source() {
		local to_source_file="$1"; shift
		declare -a -r export_envs=( $@ )
		local -r CR=$(echo -e '\r')
		local tmpfile
		tmpfile=$(mktemp "$T/dkms-src.XXXXXX")
		( exec >"$tmpfile"
		. "$to_source_file" >/dev/null
		local _export_env _i
		for _export_env in "${export_envs[@]}"; do
			for _i in $(eval echo \${!"${_export_env}"[@]}); do
				eval echo '$_export_env[$_i]=\"${'"${_export_env}"'[$_i]%$CR}\"'
			done
		done
		)
		. "$tmpfile"
		rm -f "$tmpfile"
	}
	VER() {
		echo "$1" | sed -e 's:\([^0-9]\)\([0-9]\):\1 \2:g' -e 's:\([0-9]\)\([^0-9]\):\1 \2:g' \
			-e 's:\(.*\): \1 :' -e 's: \([0-9]\) : 00\1 :g' -e 's: \([0-9][0-9]\) : 0\1 :g' \
			-e 's: ::g'
	}
	for v in $dkms_conf_variables; do unset "$v"; done
	safe_source "$1" $dkms_conf_variables 2>/dev/null

	echo "name=$PACKAGE_NAME"
	echo "version=$PACKAGE_VERSION"
	case "$AUTOINSTALL" in [Yy][Ee][Ss]) echo autoinstall=yes ;; *) echo autoinstall=no ;; esac
	local max=-1 s i
	for s in "${!BUILT_MODULE_NAME[@]}" "${!BUILT_MODULE_LOCATION[@]}" \
		"${!DEST_MODULE_NAME[@]}" "${!DEST_MODULE_LOCATION[@]}"; do
		((s > max)) && max=$s
	done
	local n=$((max + 1)) bn bl dn st=()
	for ((i = 0; i < n; i++)); do
		bn=${BUILT_MODULE_NAME[i]}
		[[ ! $bn ]] && ((n == 1)) && bn=$PACKAGE_NAME
		dn=${DEST_MODULE_NAME[i]}
		[[ $dn ]] || dn=$bn
		bl=${BUILT_MODULE_LOCATION[i]}
		[[ $bl && ${bl:(-1)} != / ]] && bl="$bl/"
		case ${STRIP[i]} in
		[nN]*) st[i]=no ;;
		[yY]*) st[i]=yes ;;
		'') st[i]=${st[0]:-yes} ;;
		*) st[i]=yes ;;
		esac
		echo "module[$i]=$bn|$bl|$dn|${DEST_MODULE_LOCATION[i]}|${st[i]}"
	done
	for i in $(printf '%s\n' "${!MAKE[@]}" "${!MAKE_MATCH[@]}" | sort -nu); do
		[[ ${MAKE[i]} ]] && echo "make[$i]=${MAKE[i]}"
		[[ ${MAKE_MATCH[i]} ]] && echo "make_match[$i]=${MAKE_MATCH[i]}"
	done
	for i in "${!PATCH[@]}"; do
		[[ ${PATCH[i]} ]] && echo "patch=${PATCH[i]}|${PATCH_MATCH[i]}"
	done
	local kmax=$BUILD_EXCLUSIVE_KERNEL_MAX
	[[ $OBSOLETE_BY && ! $kmax ]] && kmax=$OBSOLETE_BY
	[[ $BUILD_EXCLUSIVE_KERNEL ]] && echo "excl.kernel=$BUILD_EXCLUSIVE_KERNEL"
	[[ $BUILD_EXCLUSIVE_KERNEL_MIN ]] && echo "excl.kernel_min=$BUILD_EXCLUSIVE_KERNEL_MIN"
	[[ $kmax ]] && echo "excl.kernel_max=$kmax"
	[[ $BUILD_EXCLUSIVE_ARCH ]] && echo "excl.arch=$BUILD_EXCLUSIVE_ARCH"
	[[ $BUILD_EXCLUSIVE_CONFIG ]] && echo "excl.config=$BUILD_EXCLUSIVE_CONFIG"
	local seen=" " w
	for w in ${BUILD_DEPENDS[@]}; do
		[[ $seen == *" $w "* ]] || echo "build_depends=$w"
		seen="$seen$w "
	done
	[[ $PRE_BUILD ]] && echo "pre_build=$PRE_BUILD"
	[[ $POST_BUILD ]] && echo "post_build=$POST_BUILD"
	[[ $POST_ADD ]] && echo "post_add=$POST_ADD"
	[[ $PRE_INSTALL ]] && echo "pre_install=$PRE_INSTALL"
	[[ $POST_INSTALL ]] && echo "post_install=$POST_INSTALL"
	[[ $POST_REMOVE ]] && echo "post_remove=$POST_REMOVE"
	# check_build_exclusive_for_module (dkms.in:838-886), package-level part: the files
	# compared here set BUILD_EXCLUSIVE_* unindexed only (checked below).
	local kconf ex
	for ((i = 0; i < n; i++)); do
		ex=no
		[[ $BUILD_EXCLUSIVE_KERNEL && ! $kernelver =~ $BUILD_EXCLUSIVE_KERNEL ]] && ex=yes
		[[ $BUILD_EXCLUSIVE_KERNEL_MIN && "$(VER "$kernelver")" < "$(VER "$BUILD_EXCLUSIVE_KERNEL_MIN")" ]] && ex=yes
		[[ $kmax && "$(VER "$kernelver")" > "$(VER "$kmax")" ]] && ex=yes
		[[ $BUILD_EXCLUSIVE_ARCH && ! $arch =~ $BUILD_EXCLUSIVE_ARCH ]] && ex=yes
		for kconf in $BUILD_EXCLUSIVE_CONFIG; do
			case "$kconf" in
			!*) grep -q "^${kconf#!}=[ym]" "$kernel_config" && ex=yes ;;
			*) grep -q "^${kconf}=[ym]" "$kernel_config" || ex=yes ;;
			esac
		done
		echo "excluded[$i]=$ex"
	done
	)
}

# --- get the real files (shared download cache with 18-core-realworld) ---------------------
cache=/var/cache/kmbuild-test/debs
mkdir -p "$cache" "$T/x"
missing=""
for p in $PKGS; do
	ls "$cache/${p}_"*.deb >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
	# One package may be gone from the archive; compare what could be fetched.
	# shellcheck disable=SC2086
	(cd "$cache" && timeout 300 apt-get download -q $missing >"$T/apt.log" 2>&1) ||
		for p in $missing; do
			(cd "$cache" && timeout 120 apt-get download -q "$p" >>"$T/apt.log" 2>&1) || true
		done
fi
got=0
for p in $PKGS; do
	deb=$(ls "$cache/${p}_"*.deb 2>/dev/null | sort -V | tail -n 1) || true
	[ -n "$deb" ] || continue
	dpkg-deb -x "$deb" "$T/x"
	got=$((got + 1))
done
[ "$got" -gt 0 ] ||
	skip "apt-get download failed: $(grep -m1 -E '^(E|W):' "$T/apt.log" || tail -n 1 "$T/apt.log")"

confs=$(ls "$T"/x/usr/src/*/dkms.conf "$KMB_TOP"/tests/data/conf/debian/*/dkms.conf 2>/dev/null) || true
[ -n "$confs" ] || skip "no dkms.conf in the downloaded packages"

n=0 plain=0 shell=0 bad=0
# The installed kernel, and an older one on another arch: other exclusions, other MAKE values.
for VK_VA in "$K:x86_64" "5.4.0-100-amd64:arm64"; do
VK=${VK_VA%:*} VA=${VK_VA#*:}
for conf in $confs; do
	n=$((n + 1))
	label=${conf#"$T"/x/usr/src/}
	label="${label#"$KMB_TOP"/tests/data/conf/} @ $VK/$VA"
	# The index-0 difference is by design (docs/conf-formats.md); none of these files uses it.
	if grep -q 'BUILD_EXCLUSIVE_[A-Z_]*\[' "$conf"; then
		fail "$label uses indexed BUILD_EXCLUSIVE_*: compare it by hand"
	fi
	dkms_view "$conf" >"$T/want" 2>/dev/null || true
	if ! "$T/conf-dump" "$conf" "$VK" "$VA" "$KSRC" "$KSRC/.config" >"$T/got-raw" 2>"$T/err"; then
		echo "FAIL $label: kmbuild refused it: $(cat "$T/err")"
		bad=$((bad + 1))
		continue
	fi
	# conf-dump prints "no" for kept modules and the reason for excluded ones.
	sed -E '/^excluded\[/{s/=no$/=KEEP/; s/=[^K].*$/=yes/; s/=KEEP$/=no/}' "$T/got-raw" >"$T/got"
	if grep -q '^used_shell' "$T/err"; then
		shell=$((shell + 1)) how=bash
	else
		plain=$((plain + 1)) how=plain
	fi
	if ! diff -u "$T/want" "$T/got" >"$T/diff"; then
		echo "FAIL $label ($how): differs from DKMS:"
		sed 's/^/    /' "$T/diff"
		bad=$((bad + 1))
		continue
	fi
	echo "ok   $label ($how, $(grep -c '^module\[' "$T/got") modules," \
		"$(grep -c '^excluded\[.*=yes' "$T/got") excluded)"
done
done
echo "$n readings of dkms.conf files: $plain as plain data, $shell by bash, $bad differ from DKMS"
[ "$bad" = 0 ] || fail "$bad dkms.conf readings differ from DKMS"
