#!/usr/bin/env bash
# Runs the real-keyring tests against a throwaway gnome-keyring on a private D-Bus session bus:
# first with the keyring unlocked, then with one that was never unlocked. Never touches the
# caller's own keyring: HOME is a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export PATH="$CARGO_HOME/bin:$PATH"

run_session() { # $1: unlock|locked, $2: test filter
  local home
  home="$(mktemp -d)"
  HOME="$home" XDG_RUNTIME_DIR="$home" MODE="$1" FILTER="$2" \
    dbus-run-session -- bash -euo pipefail -c '
      if [ "$MODE" = unlock ]; then
        printf "%s" "ci-only-password" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
      else
        gnome-keyring-daemon --start --components=secrets >/dev/null
      fi
      cargo test --locked --test cli -- --ignored "$FILTER"
    ' 2> >(grep -v "Failed to set fd limit" >&2)
  rm -rf "$home"
}

run_session unlock real_keyring::unlocked
run_session locked real_keyring::locked
