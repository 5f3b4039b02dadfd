#!/usr/bin/env bash
# The house style (.clang-format) on every C++ file of the project (tracked, or new and not
# ignored: a file not yet added is formatted and checked too).
#   packaging/format.sh           formats the files in place
#   packaging/format.sh --check   changes nothing; lists the files that differ and fails if any do
set -euo pipefail
cd "$(dirname "$0")/.."
FORMAT=${CLANG_FORMAT:-clang-format}
if ! command -v "$FORMAT" >/dev/null; then
    echo "format.sh: $FORMAT not found (Debian: apt-get install clang-format)" >&2
    exit 2
fi
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- 'app/*.cpp' 'app/*.h' 'core/*.cpp' 'core/*.h' 'widgets/*.cpp' 'widgets/*.h' \
    'tests/*.cpp' 'tests/*.h' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
if [ "${1:-}" != "--check" ]; then
    "$FORMAT" -i --style=file "${files[@]}"
    echo "format.sh: ${#files[@]} files formatted"
    exit 0
fi
bad=0
for f in "${files[@]}"; do
    if ! "$FORMAT" --style=file "$f" | cmp -s - "$f"; then
        echo "format.sh: $f is not formatted (run packaging/format.sh)" >&2
        bad=$((bad + 1))
    fi
done
if [ "$bad" -gt 0 ]; then
    echo "format.sh: $bad of ${#files[@]} files differ from .clang-format" >&2
    exit 1
fi
echo "format.sh: ${#files[@]} files follow .clang-format"
