# The base of every test script and of scripts/fresh-check: strict mode, the verdicts (fail,
# skip), the assertions, and a line saying why when set -e ends a script. Source it first
# (lib-test.sh and lib-e2e.sh do).
set -Eeuo pipefail
: "${KMB_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "$*"; exit 77; }
assert_eq() { [ "$1" = "$2" ] || fail "${3:-values differ}: expected '$2', got '$1'"; }
assert_file() { [ -e "$1" ] || fail "missing file: $1"; }
assert_no_file() { [ ! -e "$1" ] || fail "file should not exist: $1"; }
assert_contains() { grep -q -- "$2" <<<"$1" || fail "${3:-output} does not contain '$2': $1"; }
# expect_rc N CMD...: run CMD, require exit code N; output in $OUT.
expect_rc() {
	local want=$1; shift
	set +e; OUT=$("$@" 2>&1); local rc=$?; set -e
	[ "$rc" = "$want" ] || fail "expected rc $want, got $rc from: $* -- $OUT"
}
# expect_error RC PATTERN CMD...: CMD exits RC and says why in one line on stderr that matches
# "^kmbuild: error: .*PATTERN" (its stdout, progress, is not looked at); that line in $OUT.
expect_error() {
	local want=$1 pat=$2 rc
	shift 2
	set +e; OUT=$("$@" 2>&1 >/dev/null); rc=$?; set -e
	[ "$rc" = "$want" ] || fail "expected rc $want, got $rc from: $* -- $OUT"
	assert_one_line "$OUT"
	assert_contains "$OUT" "^kmbuild: error: .*$pat" "error of: $*"
}
# assert_one_line TEXT: an error is exactly one line.
assert_one_line() {
	[ "$(printf '%s\n' "$1" | grep -c .)" = 1 ] || fail "error is not one line: $1"
}

# set -e ends a script at the first failing command without a word: a test that stops that
# way would leave an empty log. This names the command, its exit code and where it ran.
# Quiet where the script turned -e off to look at an exit code itself.
base_on_error() {
	local rc=$? i at
	[[ $- == *e* ]] || return 0
	at="${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}"
	for ((i = 1; i < ${#FUNCNAME[@]} - 1; i++)); do
		at="$at in ${FUNCNAME[$i]}(), called from ${BASH_SOURCE[$i + 1]##*/}:${BASH_LINENO[$i]}"
	done
	echo "FAIL: '$BASH_COMMAND' exited $rc at $at" >&2
}
trap base_on_error ERR
