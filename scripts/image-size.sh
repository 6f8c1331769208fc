#!/usr/bin/env bash
# Image-size figure of ld.unimig's cross-ISA layout.
#
#   scripts/image-size.sh LINK-COMMAND...
#
# Runs LINK-COMMAND (a link through unimig-cc or ld.unimig, e.g. `unimig-cc -o app *.o -lz`)
# with UNIMIG_KEEP_TEMPS=1, then links each ISA again plainly — the probe link's lld command
# from plan.txt without `-O0` and `-Map`: lld's own layout of that ISA alone, same inputs,
# same garbage collection — and prints, per ISA, the bytes of executable sections ("text") and
# of other allocated sections ("data") of the plain image and of the laid-out image (shared
# sections, which are identical on both ISAs, and ISA-private ones), with the overheads:
#   aligned text  = the shared .text (every function both ISAs have, in slots of max size)
#   vs the larger plain text of the two ISAs; and the slots alone: the sum over shared
#   functions of max(x86-64, AArch64 size) against the larger of the two sums.
# The ld.unimig work directory (and, through UNIMIG_KEEP_TEMPS, unimig-cc's) is kept.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 LINK-COMMAND..." >&2; exit 2; }

err=$(mktemp)
UNIMIG_KEEP_TEMPS=1 "$@" 2>"$err" || { cat "$err" >&2; exit 1; }
work=$(sed -n 's/^ld\.unimig: note: keeping temporary files in //p' "$err" | tail -n1)
rm -f "$err"
[ -n "$work" ] && [ -f "$work/plan.txt" ] || { echo "$0: no ld.unimig work directory reported" >&2; exit 1; }

# sizes FILE -> "text data shared_text shared_data" (allocated sections; shared = .rodata .text
# .data .tdata .tbss .bss, the layout's shared output sections).
sizes() {
  llvm-readelf-19 -S -W "$1" | awk '
    function hex(s,   i, v) { v = 0; s = tolower(s); for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
    /^ *\[ *[0-9]+\]/ {
      sub(/^ *\[ *[0-9]+\] */, "")
      name = $1; size = hex($5); flags = $7
      if (flags !~ /A/) next
      shared = (name == ".rodata" || name == ".text" || name == ".data" || name == ".tdata" || name == ".tbss" || name == ".bss")
      if (flags ~ /X/) { text += size; if (shared) stext += size } else { data += size; if (shared) sdata += size }
    }
    END { printf "%d %d %d %d\n", text, data, stext, sdata }'
}

declare -A plain_text plain_data
for isa in x86_64 aarch64; do
  line=$(grep "^$isa-linux-musl (probe link): " "$work/plan.txt" | sed 's/^[^:]*: //')
  eval "words=($line)"
  cmd=()
  skip=0
  for w in "${words[@]}"; do
    if [ $skip -gt 0 ]; then skip=$((skip - 1)); continue; fi
    case "$w" in
      -O0) ;;
      -Map) skip=1 ;;
      -o) skip=1 ;;
      *) cmd+=("$w") ;;
    esac
  done
  "${cmd[@]}" -o "$work/$isa.plain"
  read -r t d _ _ < <(sizes "$work/$isa.plain")
  plain_text[$isa]=$t; plain_data[$isa]=$d
done

printf '%-8s %12s %12s | %12s %12s %12s %12s %12s\n' ISA plain-text plain-data text shared-text private-text data private-data
max_plain=0
for isa in x86_64 aarch64; do
  read -r t d st sd < <(sizes "$work/$isa.exe")
  printf '%-8s %12d %12d | %12d %12d %12d %12d %12d\n' "$isa" "${plain_text[$isa]}" "${plain_data[$isa]}" \
    "$t" "$st" "$((t - st))" "$d" "$((d - sd))"
  [ "${plain_text[$isa]}" -gt "$max_plain" ] && max_plain=${plain_text[$isa]}
  shared_text=$st
  eval "laid_$isa=$t"
done
awk -v s="$shared_text" -v m="$max_plain" -v x="$laid_x86_64" -v a="$laid_aarch64" \
    -v px="${plain_text[x86_64]}" -v pa="${plain_text[aarch64]}" 'BEGIN {
  printf "aligned (shared) text %d vs larger plain text %d: %+.1f%%\n", s, m, 100 * (s - m) / m
  printf "whole text per ISA vs its plain link: x86_64 %+.1f%%, aarch64 %+.1f%%\n", 100 * (x - px) / px, 100 * (a - pa) / pa
}'
# The slots themselves: sum over shared functions of max(x86-64, AArch64) against the larger
# of the two ISAs' sums (the cost of giving every function one address), from plan.txt.
awk '
  function hex(s,   i, v) { v = 0; s = tolower(substr(s, 3)); for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
  /^\.text 0x/ { intext = 1; next }
  intext && /^$/ { intext = 0 }
  intext && /^  0x/ { x = hex($(NF - 1)); a = hex($NF); sx += x; sa += a; sm += (x > a ? x : a); n++ }
  END { if (n) printf "shared functions: %d slots; sum x86_64 %d, sum aarch64 %d, sum of max %d: %+.1f%% over the larger sum\n", n, sx, sa, sm, 100 * (sm - (sx > sa ? sx : sa)) / (sx > sa ? sx : sa) }
' "$work/plan.txt"
echo "work directory: $work"
