#!/bin/bash
# A build sees DKMS's tree where a package expects it, and runs the dkms.conf's commands the
# way DKMS does (docs/conf-formats.md §4): one module, built for two kernels at once, whose
# MAKE builds in its source tree and moves the .ko into DKMS's per-version build dir (as
# west-chamber-dkms does), with PRE_BUILD, POST_BUILD (zfs's postbuild copy) and POST_INSTALL.
source "$(dirname "$0")/../lib/lib-test.sh"
[ "$KOLD" != "$KNEW" ] || skip "needs headers of two kernels"
[ "$(id -u)" = 0 ] || skip "private mount namespaces need root"
install_kernels "$KOLD" "$KNEW"

d=$T/src/kmbt_view
mkmod "$d" kmbt_view 1.0
mkdir "$d/ext" && mv "$d/kmbt_view.c" "$d/Makefile" "$d/ext/"
cat >"$d/pre.sh" <<'EOF'
#!/bin/sh
# Arguments, environment and working directory as the package sees them.
{ echo "args: $*"; echo "pwd: $(pwd)"; echo "CC: ${CC:-}"; } >"pre-$1.txt"
EOF
cat >"$d/post.sh" <<'EOF'
#!/bin/sh
# zfs's dkms.postbuild: copy from ${tree}/<m>/<v>/build into ${tree}/<m>/<v>/<k>/<a>/.
exec cp "$1/kmbt_view/1.0/build/ext/Module.symvers" "$1/kmbt_view/1.0/$2/$3/"
EOF
cat >"$d/inst.sh" <<'EOF'
#!/bin/sh
printf '%s\n' "$@" >"$(dirname "$0")/inst-args.txt"
EOF
chmod +x "$d"/*.sh
# DKMS's tree under the root prefix: ${dkms_tree%/*}/dkms (the package hard-codes DKMS's).
cat >>"$d/dkms.conf" <<'EOF'
PTREE="${dkms_tree%/*}/dkms/kmbt_view/1.0/build"
PSRC="${source_tree}/kmbt_view-1.0"
MAKE[0]="make -C ${kernel_source_dir} M=${PSRC}/ext modules; sleep 1; mv ${PSRC}/ext/kmbt_view.ko ${PTREE}/"
PRE_BUILD="pre.sh ${kernelver} $(echo ${kernel_source_dir/%build/source}) && touch pre-eval-ran"
POST_BUILD="post.sh ${dkms_tree} ${kernelver} ${arch}"
POST_INSTALL="inst.sh one && two"
EOF
kmb add "$d" >/dev/null
kmb -j2 install kmbt_view -k "$KOLD" -k "$KNEW" || fail "build for two kernels failed: $(kmb status)"

for k in $KOLD $KNEW; do
	kd=$ROOT/var/lib/kmbuild/kmbt_view/1.0/$k/x86_64
	assert_contains "$(kmb status kmbt_view -k "$k")" "kmbt_view/1.0, $k, x86_64: installed"
	# Each kernel got its own build: the two ran at once through the same paths.
	assert_eq "$(modinfo -F vermagic "$kd/module/kmbt_view.ko" | awk '{print $1}')" "$k" \
		"vermagic of the $k build"
	grep -q "is this build (private mount namespace)" "$kd/log/make.log" ||
		fail "no private namespace: $(grep 'is not this build' "$kd/log/make.log")"
	# PRE_BUILD: DKMS's paths, $kernel_source_dir unresolved (/lib/modules/<k>/build, so
	# ${kernel_source_dir/%build/source} is the source tree), CC, and a second shell parse.
	pre=$(cat "$kd/build/pre-$k.txt")
	assert_contains "$pre" "args: $k /lib/modules/$k/source\$"
	assert_contains "$pre" "pwd: $ROOT/var/lib/dkms/kmbt_view/1.0/build\$"
	cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\) .*/\1/p' "/lib/modules/$k/build/.config")
	assert_contains "$pre" "CC: $cc\$"
	assert_file "$kd/build/pre-eval-ran"
	# POST_BUILD ran with the build in place and ${dkms_tree}/<m>/<v>/build being it.
	cmp -s "$kd/Module.symvers" "$kd/build/ext/Module.symvers" || fail "POST_BUILD copy for $k"
	grep -q "make KERNELRELEASE=$k -C /lib/modules/$k/build M=$ROOT/usr/src/kmbt_view-1.0/ext modules" \
		"$kd/log/make.log" || fail "make command line for $k: $(grep '^kmbuild: make' "$kd/log/make.log")"
done
# The shared source tree was not written: each build wrote its own copy.
[ -z "$(find "$ROOT/usr/src/kmbt_view-1.0" -name '*.o' -o -name '*.ko' -o -name 'pre-*')" ] ||
	fail "the builds wrote into the shared source tree"
# Outside builds DKMS's per-version build dir is an empty directory.
[ -z "$(ls -A "$ROOT/var/lib/dkms/kmbt_view/1.0/build")" ] || fail "DKMS's build dir is not empty"
# POST_INSTALL: split into words, not parsed again (dkms.in:1180-1184): "&&" is an argument.
assert_eq "$(tr '\n' ' ' <"$ROOT/usr/src/kmbt_view-1.0/inst-args.txt")" "one && two " "POST_INSTALL arguments"
echo ok
