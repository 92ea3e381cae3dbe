#!/bin/bash
# `sign` of a compressed module in a directory that another user can write: that user races
# every sign with renames and planted symlinks aimed at a root-owned 0600 file. The victim
# must keep its owner, mode and bytes. (Scratch work happens in a private directory under
# $TMPDIR; the finished file is written next to the target and fchmod/fchown'ed by fd.)
source "$(dirname "$0")/../lib/lib-test.sh"
for t in setpriv xz; do command -v $t >/dev/null || skip "$t not installed"; done
id nobody >/dev/null 2>&1 || skip "no user nobody"
[ "$(id -u)" = 0 ] || skip "needs root to race an unprivileged user"

mkmod "$T/m" kmbt_race 1.0
make -s -C "/usr/src/linux-headers-$KNEW" M="$T/m" modules >"$T/kbuild.log" 2>&1 ||
	{ cat "$T/kbuild.log"; fail "kbuild failed"; }
kmb mok generate >/dev/null

chmod 0755 "$T"
U=$T/user
mkdir "$U" && chown nobody "$U"
xz -c "$T/m/kmbt_race.ko" >"$U/kmbt_race.ko.xz"
chown nobody "$U/kmbt_race.ko.xz"
head -c 64 /dev/urandom >"$T/victim" && chmod 0600 "$T/victim"
before=$(stat -c '%u:%g %a' "$T/victim"):$(sha256sum <"$T/victim")

# The racer: whatever scratch directory or temporary file appears in its directory is moved
# away and replaced by links to the victim.
cat >"$T/racer.sh" <<RACER
cd "$U"
while [ ! -e "$T/stop" ]; do
	for d in .kmbsign.*; do
		[ -d "\$d" ] || continue
		mv "\$d" "\$d.taken" 2>/dev/null && mkdir "\$d" && ln -s "$T/victim" "\$d/m.ko.xz" &&
			ln -s "$T/victim" "\$d/m.ko"
	done
	for f in *.~kmbsign~*; do
		[ -e "\$f" ] && rm -f "\$f" && ln -s "$T/victim" "\$f"
	done
done 2>/dev/null
RACER
setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups bash "$T/racer.sh" &
racer=$!
signed=0
for i in $(seq 40); do
	# The racer may win the rename and leave a link as the module: restore a real one.
	[ -L "$U/kmbt_race.ko.xz" ] && rm -f "$U/kmbt_race.ko.xz" &&
		xz -c "$T/m/kmbt_race.ko" >"$U/kmbt_race.ko.xz"
	kmb sign "$U/kmbt_race.ko.xz" >/dev/null 2>&1 && signed=$((signed + 1))
done
touch "$T/stop"
wait $racer || true
after=$(stat -c '%u:%g %a' "$T/victim"):$(sha256sum <"$T/victim")
assert_eq "$after" "$before" "victim owner/mode/content after 40 raced signs"
[ $signed -gt 0 ] || fail "no sign succeeded at all"
ls -a "$U" | grep -q '^\.kmbsign\.' && fail "scratch directory created next to the module"
# A sign that was not raced is still a real signed module.
rm -f "$U/kmbt_race.ko.xz" && xz -c "$T/m/kmbt_race.ko" >"$U/kmbt_race.ko.xz"
chown nobody "$U/kmbt_race.ko.xz"
kmb sign "$U/kmbt_race.ko.xz" >/dev/null
assert_contains "$(modinfo -F signer "$U/kmbt_race.ko.xz")" "kmbuild"
assert_eq "$(stat -c %U "$U/kmbt_race.ko.xz")" nobody "signed module keeps its owner"
echo "ok: $signed of 40 raced signs succeeded, victim untouched"
