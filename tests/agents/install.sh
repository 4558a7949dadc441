#!/usr/bin/env bash
# Installs the agent CLIs the agent tests drive, at pinned versions, into a cache outside the repository.
# Each package lands in $TOKENHUB_AGENTS_CACHE/<name>-<version> (default ~/.cache/tokenhub-agents) and is
# reused when present: a finished install holds a .complete marker, written last, so a cut install is redone.
# Prints one line per CLI: "<bin> <version> <absolute path of the executable>". Needs npm (and no network but the registry).
set -euo pipefail

CODEX_VERSION="0.171.0"
CLAUDE_CODE_VERSION="2.1.332"
CACHE="${TOKENHUB_AGENTS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tokenhub-agents}"

if ! command -v npm >/dev/null 2>&1; then
    echo "tests/agents/install.sh: npm not found on PATH; install Node.js (>= 20) and npm to run the agent tests" >&2
    exit 1
fi

# install PACKAGE VERSION DIRNAME BIN NATIVE: install PACKAGE@VERSION into $CACHE/DIRNAME-VERSION unless already
# there. NATIVE is a glob (relative to node_modules) that must match the platform's native executable: a file
# over 1 MB, not the few-hundred-byte placeholder a skipped postinstall leaves behind.
install() {
    local package="$1" version="$2" dirname="$3" bin="$4" native="$5"
    local target="$CACHE/$dirname-$version"
    if [[ ! -f "$target/.complete" ]]; then
        mkdir -p "$CACHE"
        local staging
        staging="$(mktemp -d "$CACHE/.staging-$dirname-XXXXXX")"
        # Optional dependencies carry the native binaries (@openai/codex-linux-x64 is an alias of
        # @openai/codex@<version>-linux-x64; @anthropic-ai/claude-code-linux-x64 is copied over bin/claude.exe
        # by the package's postinstall), so optional dependencies and scripts are forced on whatever npmrc says.
        if ! npm install --prefix "$staging" --no-save --no-audit --no-fund --loglevel=error \
            --include=optional --ignore-scripts=false "$package@$version" >&2; then
            rm -rf "$staging"
            echo "tests/agents/install.sh: npm install $package@$version failed" >&2
            exit 1
        fi
        local found=()
        # shellcheck disable=SC2206  # the glob is meant to expand
        found=($staging/node_modules/$native)
        if [[ ! -x "$staging/node_modules/.bin/$bin" || ! -x "${found[0]}" ]] \
            || (($(wc -c <"${found[0]}") < 1000000)); then
            rm -rf "$staging"
            echo "tests/agents/install.sh: $package@$version installed no native $bin for $(uname -sm)" >&2
            exit 1
        fi
        touch "$staging/.complete"
        rm -rf "$target"
        mv "$staging" "$target"
    fi
    echo "$bin $version $target/node_modules/.bin/$bin"
}

install "@openai/codex" "$CODEX_VERSION" "codex" "codex" "@openai/codex-*/vendor/*/bin/codex"
install "@anthropic-ai/claude-code" "$CLAUDE_CODE_VERSION" "claude-code" "claude" "@anthropic-ai/claude-code/bin/claude.exe"
