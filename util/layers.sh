#!/bin/sh
# The layer check: fails when a .c file of turnd (or common/) calls a
# function, or uses a variable, defined in a file of its own layer or of
# a layer above (util/layers).  Read from the objects: each one's
# undefined symbols (nm -u) against the others' defined ones, so it sees
# what the compiler linked, macros and headers included.
#
#   util/layers.sh [OBJDIR]     (default build/obj; `make` builds it)

set -e

cd "$(dirname "$0")/.."

objdir=${1:-build/obj}
list=util/layers

# every source is placed in a layer, and every placed file has an object
status=0

for src in turnd/*.c turnd/bpf/*.c common/*.c; do
    f=${src%.c}

    # the kernel's program (clang -target bpf), not linked into turnd
    case $src in *.bpf.c) continue ;; esac

    if ! grep -v '^#' "$list" | grep -qw "$f"; then
        echo "layers: $src is in no layer of $list" >&2
        status=1
    fi
done

[ $status = 0 ] || exit 1

defs=$(mktemp)
uses=$(mktemp)
trap 'rm -f "$defs" "$uses"' EXIT

# "layer-number file" for each placed file, top = 1
grep -v '^#' "$list" \
    | awk 'NF { n++; sub(/:$/, "", $1); for (i = 2; i <= NF; i++)
                print n, $1, $i }' \
    | while read -r n name f; do
    o="$objdir/$f.o"

    if [ ! -f "$o" ]; then
        echo "layers: $o missing (run make first)" >&2
        exit 1
    fi

    nm -g --defined-only "$o" | awk -v n="$n" -v l="$name" -v f="$f" \
        '{ print $3, n, l, f }' >> "$defs"
    nm -u "$o" | awk -v n="$n" -v l="$name" -v f="$f" \
        '{ print $2, n, l, f }' >> "$uses"
done

# a use of a symbol defined in another file of a layer not below it
awk '
    NR == FNR { dn[$1] = $2; dl[$1] = $3; df[$1] = $4; next }
    ($1 in dn) && df[$1] != $4 && dn[$1] <= $2 {
        printf "layers: %s.c (layer %s) uses %s of %s.c (layer %s, %s)\n",
               $4, $3, $1, df[$1], dl[$1],
               dn[$1] == $2 ? "the same layer" : "above it"
        bad = 1
    }
    END { exit bad }
' "$defs" "$uses" >&2 || { echo "layers: upward calls, see above" >&2; exit 1; }

echo "layers: $(grep -v '^#' "$list" | grep -c .) layers, no upward call"
