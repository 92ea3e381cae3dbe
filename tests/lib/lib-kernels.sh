# Which kernels a test uses, chosen by property and never by position: a host may hold the
# headers of two kernels or of five, and two of them may or may not share an ABI. The ABI is
# the module_layout CRC in Module.symvers, which the kernel compares before it loads a module:
# equal CRCs, loadable; different CRCs, "disagrees about version of symbol module_layout".
# Sourced by lib-test.sh; needs nothing from it.

# kernels_with_headers: the Debian 6.1 kernels whose headers are installed (oldest first),
# one a line.
kernels_with_headers() {
	local k
	for k in $(ls /usr/src | sed -n 's/^linux-headers-\(6\.1\.0-[0-9]*-amd64\)$/\1/p' | sort -V); do
		[ -f "/usr/src/linux-headers-$k/Makefile" ] && echo "$k"
	done
}

# symvers_crc FILE SYMBOL: the CRC that a Module.symvers gives SYMBOL.
symvers_crc() { awk -F'\t' -v s="$2" '$2 == s { print $1; exit }' "$1"; }

# headers_abi DIR: the ABI of the headers tree DIR (its module_layout CRC).
headers_abi() { symvers_crc "$1/Module.symvers" module_layout; }

# kernels_by_abi same|other K: the installed kernels other than K whose ABI is (same) or is
# not (other) K's, newest first.
kernels_by_abi() {
	local want=$1 ref k is
	ref=$(headers_abi "/usr/src/linux-headers-$2")
	[ -n "$ref" ] || return 0
	for k in $(kernels_with_headers | sort -V -r); do
		[ "$k" != "$2" ] || continue
		[ "$(headers_abi "/usr/src/linux-headers-$k")" = "$ref" ] && is=same || is=other
		if [ "$is" = "$want" ]; then echo "$k"; fi
	done
	return 0
}

# kernels_seen: the kernels kmbuild lists for the sandbox $ROOT: those installed in it, and
# the host's kernels whose headers have a Makefile (kmbuild may build against those
# read-only). Counts in assertions come from here, not from a number of kernels assumed.
kernels_seen() {
	local k
	{
		ls "$ROOT/lib/modules" 2>/dev/null || true
		for k in $(ls /lib/modules 2>/dev/null; ls /usr/src | sed -n 's/^linux-headers-//p'); do
			case $k in *-common | *-common-rt) continue ;; esac
			if [ -f "/lib/modules/$k/build/Makefile" ] ||
				[ -f "/usr/src/linux-headers-$k/Makefile" ]; then
				echo "$k"
			fi
		done
	} | sort -u -V
}

# pick_uninstalled_kernel: the newest linux-headers-6.1.0-N-amd64 in the apt index that is
# NOT installed here.
pick_uninstalled_kernel() {
	local p k
	for p in $(apt-cache search --names-only '^linux-headers-6\.1\.0-[0-9]+-amd64$' |
		awk '{print $1}' | sort -V -r); do
		k=${p#linux-headers-}
		if [ ! -e "/usr/src/linux-headers-$k" ] && [ ! -e "/lib/modules/$k" ] &&
			! dpkg -s "$p" >/dev/null 2>&1; then
			echo "$k"
			return 0
		fi
	done
	return 1
}
