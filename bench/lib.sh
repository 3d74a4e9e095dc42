# Shell helpers the bench scripts share; source it after setting $work
# (a scratch directory the script owns).

# Median of the numbers on stdin.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Wall seconds of one command; a failing command stops the bench with its
# stderr (a timing of a failure is no figure).
wall() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>"$work/last.err" || { cat "$work/last.err" >&2; exit 1; }
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
