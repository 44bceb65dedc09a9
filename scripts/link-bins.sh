#!/usr/bin/env bash
# Puts the CLIs on the PATH: a symlink in DIR (default /usr/local/bin, or ~/.local/bin when that is
# not writable) for each command packages/cli/package.json's "bin" names (wagc, gate-run,
# gate-inspect), pointing into this checkout. Idempotent; a symlink of that name is replaced, any
# other file of that name is left alone with a warning. Called by scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-}"
if [ -z "$dir" ]; then
  if [ -w /usr/local/bin ]; then dir=/usr/local/bin; else dir="$HOME/.local/bin"; fi
fi
mkdir -p "$dir"
node -e '
  const bin = require("./packages/cli/package.json").bin;
  for (const [name, file] of Object.entries(bin)) console.log(name + "\t" + require("path").resolve("packages/cli", file));
' | while IFS=$'\t' read -r name target; do
  chmod +x "$target"
  if [ -e "$dir/$name" ] && [ ! -L "$dir/$name" ]; then
    echo "link-bins: $dir/$name exists and is not a symlink: left alone" >&2
    continue
  fi
  ln -sfn "$target" "$dir/$name"
done
case ":$PATH:" in
  *":$dir:"*) ;;
  *) echo "link-bins: $dir is not on your PATH: add it to run wagc, gate-run and gate-inspect by name" >&2 ;;
esac
