#!/bin/bash
# Every shipped template is valid: `kmbuild search` loads each one (template.conf and its
# kmbuild.conf) and fails on any missing or wrong field; the expected templates are all there
# with sources pinned by SHA256; the pinned .deb sums and sizes are those of Debian's signed
# Packages index (apt-cache); and removing any required field from any template (or the
# sha256 of any of its downloads) makes validation fail with a line naming file and field.
source "$(dirname "$0")/../lib/lib-test.sh"
TEMPLATES=$KMB_TOP/templates
export KMBUILD_TEMPLATE_DIR=$TEMPLATES
install_kernels $KOLD $KNEW

kmb search --json >$T/all.json || fail "kmbuild search failed on the shipped templates"
python3 - $T/all.json >$T/debs <<'PY' || fail "search --json: $(cat $T/all.json)"
import json, re, sys
d = json.load(open(sys.argv[1]))
names = sorted(t["name"] for t in d)
want = ["acpi_call", "hello", "jool", "openvpn-dco", "v4l2loopback", "wireguard", "xtables-addons"]
assert names == want, names
for t in d:
    assert t["description"] and t["homepage"].startswith("http"), t
    assert t["sources"], t
    for s in t["sources"]:
        if s["kind"] == "path":
            continue
        assert re.fullmatch(r"[0-9a-f]{64}", s["sha256"]), s
        assert s.get("size", 0) > 0, s
        if s["kind"] == "deb":
            print(t["name"], s["deb"], s["deb_version"], s["suite"], s["sha256"], s["size"])
    if t["name"] != "hello":
        kinds = [s["kind"] for s in t["sources"]]
        assert kinds[0] == "tarball" and "deb" in kinds, (t["name"], kinds)
    assert len(t["kernels"]) >= 2, t
w = {t["name"]: t for t in d}
assert all(k["fit"] == "in-tree" for k in w["wireguard"]["kernels"]), w["wireguard"]
assert all(k["fit"] == "builds" for k in w["v4l2loopback"]["kernels"]), w["v4l2loopback"]
PY
echo "ok: 7 templates valid, every download pinned by SHA256"

# The .deb sums are Debian's (bookworm's signed Packages index, as apt has it).
n=0
while read -r tpl deb ver suite sum size; do
	[ "$suite" = bookworm ] || continue
	info=$(apt-cache show "$deb=$ver" 2>/dev/null) || fail "$tpl: $deb $ver is not in apt's index"
	assert_eq "$(sed -n 's/^SHA256: //p' <<<"$info" | head -n 1)" "$sum" "$tpl: $deb $ver SHA256"
	assert_eq "$(sed -n 's/^Size: //p' <<<"$info" | head -n 1)" "$size" "$tpl: $deb $ver size"
	n=$((n + 1))
done <$T/debs
[ $n -ge 5 ] || fail "only $n bookworm .deb sums checked"
echo "ok: $n .deb sums and sizes equal Debian's Packages index"

# search_bad: kmbuild search must exit 8; its stderr in $OUT.
search_bad() {
	set +e
	kmb search >/dev/null 2>$T/err
	local rc=$?
	set -e
	OUT=$(cat $T/err)
	[ $rc = 8 ] || fail "search: expected rc 8, got $rc: $OUT"
}

# Every required field of every template, removed in turn: validation fails, naming it.
cp -a $TEMPLATES $T/tpl
export KMBUILD_TEMPLATE_DIR=$T/tpl
checks=0
for dir in $TEMPLATES/*/; do
	t=$(basename $dir)
	[ -f $dir/template.conf ] || continue
	for key in name version description homepage sha256 url deb deb-version suite path; do
		for line in $(grep -n "^$key *=" $dir/template.conf | cut -d: -f1); do
			cp $dir/template.conf $T/tpl/$t/template.conf
			sed -i "${line}d" $T/tpl/$t/template.conf
			search_bad
			assert_eq "$(grep -c . <<<"$OUT")" 1 "$t without $key (line $line): one line"
			assert_contains "$OUT" "tpl/$t/template.conf"
			checks=$((checks + 1))
		done
	done
	cp $dir/template.conf $T/tpl/$t/template.conf
	# A wrong value in the build definition too.
	cp $dir/kmbuild.conf $T/tpl/$t/kmbuild.conf
	sed -i 's/^version = .*/version = 0.0.0-wrong/' $T/tpl/$t/kmbuild.conf
	search_bad
	assert_contains "$OUT" "$t/template.conf: version: .* differs from version '0.0.0-wrong'"
	cp $dir/kmbuild.conf $T/tpl/$t/kmbuild.conf
	checks=$((checks + 1))
done
kmb search >/dev/null || fail "the restored copy does not validate"
[ $checks -ge 60 ] || fail "only $checks mutations checked"
echo "ok: $checks mutations of the shipped templates each fail validation with one line"
