#!/usr/bin/env bash
# Checks the layering of DESIGN.md: core -> runtime -> process -> behaviours -> naming -> dist.
# A file of a layer (include/ambitious/<layer>/, src/<layer>/, tests/<layer>/) may reach, through
# its includes and theirs, only the public headers of its own layer and of the layers below.
# (The build already keeps each layer out of the others' src/: there is no include path into
# it.) Prints each file that reaches too high, with the include that leads there.
set -euo pipefail
cd "$(dirname "$0")/.."

layers=(core runtime process behaviours naming dist)
declare -A rank_of
for i in "${!layers[@]}"; do rank_of[${layers[$i]}]=$i; done
umbrella_rank=$(( ${#layers[@]} - 1 ))  # ambitious/ambitious.hpp includes every layer

declare -A reach  # file -> the highest layer rank it reaches (memoized)

# The rank a header has by its place: a public header's layer, or none (-1).
place_rank() {
  case $1 in
    include/ambitious/ambitious.hpp) echo "$umbrella_rank" ;;
    include/ambitious/*/*) local l=${1#include/ambitious/}; echo "${rank_of[${l%%/*}]:--1}" ;;
    *) echo -1 ;;
  esac
}

# The file a quoted include of `from` names: a public header, or a file beside `from`.
resolve() {
  local from=$1 name=$2
  if [[ $name == ambitious/* && -f include/$name ]]; then echo "include/$name"
  elif [[ -f $(dirname "$from")/$name ]]; then realpath --relative-to=. "$(dirname "$from")/$name"
  fi
}

# Sets reach[$1]: the highest rank among the headers $1 includes, directly or not.
compute_reach() {
  local file=$1 best=-1 name target r
  reach[$file]=-1  # a cycle (there should be none) stops here
  while IFS= read -r name; do
    target=$(resolve "$file" "$name")
    [[ -n $target ]] || continue
    r=$(place_rank "$target")
    (( r > best )) && best=$r
    [[ -n ${reach[$target]+set} ]] || compute_reach "$target"
    (( ${reach[$target]} > best )) && best=${reach[$target]}
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
  reach[$file]=$best
}

bad=0
for layer in "${layers[@]}"; do
  own=${rank_of[$layer]}
  while IFS= read -r file; do
    compute_reach "$file"
    (( ${reach[$file]} <= own )) && continue
    bad=1
    while IFS= read -r name; do
      target=$(resolve "$file" "$name")
      [[ -n $target ]] || continue
      r=$(place_rank "$target")
      (( ${reach[$target]:--1} > r )) && r=${reach[$target]}
      if (( r > own )); then
        echo "$file (layer $layer) reaches layer ${layers[$r]} through #include \"$name\""
        break
      fi
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
  done < <(find "include/ambitious/$layer" "src/$layer" "tests/$layer" -type f \
             \( -name '*.hpp' -o -name '*.cpp' \) 2>/dev/null | sort)
done
if (( bad )); then
  echo "check-layers: a file reaches a layer above its own (see DESIGN.md's layer list)" >&2
  exit 1
fi
echo "check-layers: every file keeps to its layer and the layers below"
