# shellcheck shell=bash
# Sourced by the scripts in packaging/: the names of the release archives, in one place.
# packaging/archive makes the archives and packaging/render links them from the package
# managers' manifests. Cargo.toml's [package.metadata.binstall] spells the same names in
# cargo-binstall's template syntax; tests/cli/packaging.rs checks that the two agree.

# The archive's name without its extension, and the folder inside it: csp-v1.2.3-<target>.
archive_stem() { # version target
  printf 'csp-v%s-%s\n' "$1" "$2"
}

# Windows gets a zip, everything else a gzipped tarball.
archive_ext() { # target
  case "$1" in
    *-windows-*) echo zip ;;
    *) echo tar.gz ;;
  esac
}

binary_name() { # target
  case "$1" in
    *-windows-*) echo csp.exe ;;
    *) echo csp ;;
  esac
}

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}
