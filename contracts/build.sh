#!/usr/bin/env bash
# Builds every Cairn contract (examples/* and fixtures/*) for wasm32v1-none and
# writes contracts/artifacts/<name>.wasm plus artifacts/manifest.json, and
# contracts/artifacts/debug/<name>.wasm (the same code with its name section,
# for readable backtraces in `cairn run`) plus artifacts/debug/manifest.json.
#
#   ./build.sh            build and update artifacts/
#   ./build.sh --check    rebuild into a temporary directory and compare with the
#                         committed artifacts and manifest byte for byte, then
#                         run the SDK's and the build tool's unit tests
#   ./build.sh --fresh    (with or without --check) also use an empty target dir,
#                         i.e. a from-scratch build, to check reproducibility
#
# Toolchain: a rustup toolchain with the wasm32v1-none target if installed;
# otherwise Debian's rustc-web + rust-web-src with -Zbuild-std (installed with
# apt-get when missing). Which one built the artifacts is recorded in the
# manifest; --check uses the same route and says so if it is not available.
# Override with CAIRN_CONTRACTS_TOOLCHAIN=rustup|debian.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
ARTIFACTS="$HERE/artifacts"
TARGET_TRIPLE=wasm32v1-none

CHECK=0
FRESH=0
for arg in "$@"; do
    case "$arg" in
        --check) CHECK=1 ;;
        --fresh) FRESH=1 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument '$arg'" >&2; exit 2 ;;
    esac
done

log() { echo "contracts: $*" >&2; }

# ---------------------------------------------------------------------------
# One fixed source path
# ---------------------------------------------------------------------------
# Cargo's `-C metadata` hashes depend on the absolute path of path
# dependencies, and with them the order of symbols in the linked module;
# --remap-path-prefix does not reach them. The same sources built in two
# checkouts at different paths gave different multisig and router bytes. So
# the build always runs on a copy of the sources at one fixed path (file
# times kept, so cargo's fingerprints still skip unchanged crates), under a
# lock against concurrent builds.
STAGE=/tmp/cairn-contracts-src
exec 9>"$STAGE.lock"
flock 9
rm -rf "$STAGE"
mkdir -p "$STAGE"
tar -C "$REPO" --exclude=./target --exclude=./contracts/target --exclude=./.git \
    --exclude=node_modules -cf - . | tar -C "$STAGE" -xf -
SOURCES="$STAGE/contracts"

# Flags from the caller's environment would change the output; only ours count.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS RUSTC_WRAPPER CARGO_BUILD_RUSTC_WRAPPER
export CARGO_TARGET_DIR="${CAIRN_CONTRACTS_TARGET_DIR:-$HOME/.cache/cairn/contracts-target}"
CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"

if [ "$FRESH" = 1 ]; then
    FRESH_DIR="$(mktemp -d)"
    export CARGO_TARGET_DIR="$FRESH_DIR/target"
fi

# ---------------------------------------------------------------------------
# Toolchain route
# ---------------------------------------------------------------------------
recorded_route() {
    [ -f "$ARTIFACTS/manifest.json" ] || return 0
    sed -n 's/.*"toolchain": "\([a-z]*\):.*/\1/p' "$ARTIFACTS/manifest.json"
}

rustup_has_target() {
    command -v rustup >/dev/null 2>&1 &&
        rustup target list --installed 2>/dev/null | grep -qx "$TARGET_TRIPLE"
}

ROUTE="${CAIRN_CONTRACTS_TOOLCHAIN:-}"
if [ -z "$ROUTE" ] && [ "$CHECK" = 1 ]; then
    ROUTE="$(recorded_route)"
fi
if [ -z "$ROUTE" ]; then
    if rustup_has_target; then ROUTE=rustup; else ROUTE=debian; fi
fi

install_debian_toolchain() {
    if dpkg -s rustc-web rust-web-src >/dev/null 2>&1; then
        return
    fi
    log "installing Debian's rustc-web and rust-web-src (wasm32v1-none via -Zbuild-std)"
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends rustc-web rust-web-src >&2
}

BUILD_STD=()
case "$ROUTE" in
    rustup)
        if ! rustup_has_target; then
            echo "build.sh: the artifacts were built with a rustup toolchain's $TARGET_TRIPLE target," >&2
            echo "          which is not installed here (rustup target add $TARGET_TRIPLE)." >&2
            exit 1
        fi
        WASM_RUSTC="$(rustup which rustc)"
        ;;
    debian)
        install_debian_toolchain
        WASM_RUSTC=/usr/bin/rustc
        SYSROOT_SRC="$(/usr/bin/rustc --print sysroot)/lib/rustlib/src/rust"
        # Debian's rust-lld is a dangling link; rustup's links wasm fine.
        LLD="$(ls "${RUSTUP_HOME:-$HOME/.rustup}"/toolchains/*/lib/rustlib/*/bin/rust-lld 2>/dev/null | head -n1 || true)"
        if [ -z "$LLD" ]; then
            echo "build.sh: no rust-lld found in a rustup toolchain" >&2
            exit 1
        fi
        export CARGO_TARGET_WASM32V1_NONE_LINKER="$LLD"
        export RUSTC_BOOTSTRAP=1
        BUILD_STD=(-Zbuild-std=core,alloc,panic_abort)
        ;;
    *)
        echo "build.sh: unknown toolchain route '$ROUTE' (rustup or debian)" >&2
        exit 2
        ;;
esac
if ! command -v wasm-opt >/dev/null 2>&1; then
    log "installing binaryen (wasm-opt)"
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends binaryen >&2
fi
# Debian revisions of the same rustc release can differ in the library
# sources -Zbuild-std compiles (1.96.0+dfsg1-1~deb12u1 and ~deb12u2 give
# different multisig and router bytes), so the manifest records them: a
# --check mismatch then shows which package moved.
PACKAGES=""
if [ "$ROUTE" = debian ]; then
    PACKAGES=" ($(dpkg-query -W -f='rustc-web ${Version}, rust-web-src ' rustc-web 2>/dev/null)$(dpkg-query -W -f='${Version}' rust-web-src 2>/dev/null))"
fi
TOOLCHAIN="$ROUTE: $("$WASM_RUSTC" -V)$PACKAGES; $(wasm-opt --version)"

# ---------------------------------------------------------------------------
# Reproducibility: no absolute path of this machine may reach the output.
# ---------------------------------------------------------------------------
# Registry sources live under $CARGO_HOME/registry/src/<index>-<hash>/; the
# index directory's name is the same wherever crates.io is the source, so one
# prefix covers every crate whether or not it has been downloaded yet.
REMAPS=("--remap-path-prefix=$STAGE=/cairn" "--remap-path-prefix=$CARGO_HOME/registry/src=/cargo-registry")
if [ "$ROUTE" = debian ]; then
    REMAPS+=("--remap-path-prefix=$SYSROOT_SRC=/rust-src")
    REMAPS+=("--remap-path-prefix=$(readlink -f "$SYSROOT_SRC")=/rust-src")
fi
RUSTFLAGS_TOML=""
for flag in "${REMAPS[@]}"; do
    RUSTFLAGS_TOML+="'$flag', "
done
CONFIG_ARG="target.$TARGET_TRIPLE.rustflags=[${RUSTFLAGS_TOML%, }]"

# ---------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------
CONTRACTS=()
for dir in "$SOURCES"/examples/*/ "$SOURCES"/fixtures/*/; do
    [ -f "$dir/Cargo.toml" ] && CONTRACTS+=("$(basename "$dir")")
done

cd "$SOURCES"
log "building ${#CONTRACTS[@]} contracts with $TOOLCHAIN"
# One cargo invocation per contract: features of the SDK (e.g.
# `formatted-panics`) must not unify across contracts, or one contract's choice
# would change another's bytes.
for name in "${CONTRACTS[@]}"; do
    RUSTC="$WASM_RUSTC" cargo build --quiet --locked --release --target "$TARGET_TRIPLE" \
        "${BUILD_STD[@]}" --config "$CONFIG_ARG" -p "$name"
done

# The finishing tool runs on the host with the ordinary toolchain.
(
    unset RUSTC RUSTC_BOOTSTRAP CARGO_TARGET_WASM32V1_NONE_LINKER
    cargo build --quiet --locked --release -p cairn-contract-tool
)
TOOL="$CARGO_TARGET_DIR/release/cairn-contract-tool"

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT" ${FRESH_DIR:+"$FRESH_DIR"}' EXIT
mkdir "$OUT/debug"
FILES=()
DEBUG_FILES=()
for name in "${CONTRACTS[@]}"; do
    extra=()
    # The float fixture exists to be rejected by validation.
    [ "$name" = uses_floats ] && extra=(--allow-floats)
    "$TOOL" strip-exports "$CARGO_TARGET_DIR/$TARGET_TRIPLE/release/$name.wasm" "$OUT/$name.linked.wasm"
    # Size: binaryen's -Oz takes another 20-50% off rustc's output. `-g` keeps
    # the name section (function names, for backtraces): that is the debug
    # artifact. The release artifact is the debug one without its custom
    # sections (names; producer info goes in both), copied section by section,
    # so both have byte-identical code (deployed code pays gas per byte).
    wasm-opt --mvp-features -Oz -g --strip-dwarf --strip-producers --strip-target-features \
        "$OUT/$name.linked.wasm" -o "$OUT/$name.named.wasm"
    rm "$OUT/$name.linked.wasm"
    # rustc's mangled symbols become paths such as `token::transfer`.
    "$TOOL" demangle-names "$OUT/$name.named.wasm" "$OUT/debug/$name.wasm"
    rm "$OUT/$name.named.wasm"
    "$TOOL" strip-custom "$OUT/debug/$name.wasm" "$OUT/$name.wasm"
    "$TOOL" check "$OUT/$name.wasm" "${extra[@]}"
    "$TOOL" check "$OUT/debug/$name.wasm" "${extra[@]}"
    FILES+=("$OUT/$name.wasm")
    DEBUG_FILES+=("$OUT/debug/$name.wasm")
done
"$TOOL" manifest "$TOOLCHAIN" "${FILES[@]}" > "$OUT/manifest.json"
"$TOOL" manifest "$TOOLCHAIN" "${DEBUG_FILES[@]}" > "$OUT/debug/manifest.json"

printf '%-16s %8s %8s  %s\n' contract bytes debug keccak256 >&2
sed -n 's/.*"name": "\([^"]*\)".*"code_hash": "\([^"]*\)", "size": \([0-9]*\).*/\1 \3 \2/p' "$OUT/manifest.json" |
    while read -r name size hash; do
        printf '%-16s %8s %8s  %s\n' "$name" "$size" "$(wc -c < "$OUT/debug/$name.wasm")" "$hash" >&2
    done

if [ "$CHECK" = 1 ]; then
    status=0
    for f in "$OUT"/* "$OUT"/debug/*; do
        [ -f "$f" ] || continue
        base="${f#"$OUT"/}"
        if [ ! -f "$ARTIFACTS/$base" ]; then
            echo "MISSING  artifacts/$base (built but not committed)" >&2; status=1
        elif ! cmp -s "$f" "$ARTIFACTS/$base"; then
            offset="$(cmp "$f" "$ARTIFACTS/$base" 2>/dev/null | sed -n 's/.*byte \([0-9]*\).*/\1/p' || true)"
            echo "DIFFERS  artifacts/$base: committed $(wc -c < "$ARTIFACTS/$base") bytes, rebuilt $(wc -c < "$f") bytes; first difference at byte ${offset:-(end of the shorter file)}" >&2
            status=1
        fi
    done
    for f in "$ARTIFACTS"/* "$ARTIFACTS"/debug/*; do
        [ -f "$f" ] || continue
        base="${f#"$ARTIFACTS"/}"
        [ -f "$OUT/$base" ] || { echo "STALE    artifacts/$base (no contract builds it)" >&2; status=1; }
    done
    if [ "$status" != 0 ]; then
        diff -u "$ARTIFACTS/manifest.json" "$OUT/manifest.json" >&2 || true
        diff -u "$ARTIFACTS/debug/manifest.json" "$OUT/debug/manifest.json" >&2 || true
        echo "contracts: artifacts do not match a rebuild; run ./contracts/build.sh and commit contracts/artifacts" >&2
        exit 1
    fi
    log "artifacts (release and debug) match a rebuild byte for byte"
    # The SDK's and the tool's own unit tests run on the host.
    (
        unset RUSTC RUSTC_BOOTSTRAP CARGO_TARGET_WASM32V1_NONE_LINKER
        cargo test --quiet --locked --release --lib --bins -p cairn-sdk -p cairn-contract-tool
    )
else
    mkdir -p "$ARTIFACTS/debug"
    rm -f "$ARTIFACTS"/*.wasm "$ARTIFACTS"/manifest.json "$ARTIFACTS"/debug/*.wasm "$ARTIFACTS"/debug/manifest.json
    cp "$OUT"/*.wasm "$OUT"/manifest.json "$ARTIFACTS"/
    cp "$OUT"/debug/*.wasm "$OUT"/debug/manifest.json "$ARTIFACTS"/debug/
    log "wrote $ARTIFACTS"
fi
