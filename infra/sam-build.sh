#!/usr/bin/env bash
# `sam build` of infra/template.yaml, as users build before `sam deploy`, offline: the
# rust-cargolambda build method cross-builds each function for arm64 with cargo-lambda
# and zig. Then checks every function's artifact: an aarch64 ELF `bootstrap`, the
# release build of the function's own binary. Prints each bootstrap's size and its zip's.
#
#   infra/sam-build.sh [BUILD_DIR]      default BUILD_DIR: $CARGO_TARGET_DIR/sam-build
#
# CARGO_TARGET_DIR (default: the repository's target/) is reused between runs, so a
# warm run only relinks what changed; BUILD_DIR is emptied first, so the artifacts are
# always this run's. Tools come from the same venv as infra/check.sh (infra/venv.sh,
# with the build tools); the aarch64 Rust target is added if missing. Functions are
# built one after another (not `--parallel`), to keep the build to one cargo at a time.
set -euo pipefail
INFRA_WITH_BUILD_TOOLS=1
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"

log() { echo "[infra/sam-build] $*" >&2; }

cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BUILD_DIR="${1:-$CARGO_TARGET_DIR/sam-build}"
# cargo-lambda finds zig as `python3 -m ziglang` of the venv.
export PATH="$INFRA_VENV/bin:$PATH"

if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  log "rustup target add aarch64-unknown-linux-gnu"
  rustup target add aarch64-unknown-linux-gnu
fi

rm -rf "$BUILD_DIR"
mkdir -p "$BUILD_DIR"
# A configuration of its own: samconfig.toml's `cached`/`parallel` would write SAM's
# cache into the repository and run the three cargo builds at once.
config="$(mktemp "${TMPDIR:-/tmp}/trawl-samconfig.XXXXXX.toml")"
trap 'rm -f "$config"' EXIT
printf 'version = 0.1\n[default.build.parameters]\ncached = false\nparallel = false\n' >"$config"
log "sam build -> $BUILD_DIR (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
start=$(date +%s)
sam build \
  --config-file "$config" \
  --template-file infra/template.yaml \
  --build-dir "$BUILD_DIR" \
  --beta-features \
  --region us-east-1
log "sam build took $(($(date +%s) - start)) s"

# Every function of the template: an arm64 bootstrap built from its own binary.
# (Not in the template: cargo-lambda's release settings, lto = "thin", codegen-units = 1,
# target-cpu=neoverse-n1, and panic = "abort" unless Cargo.toml's [profile.release] sets
# them.)
"$PY" - "$BUILD_DIR" "$CARGO_TARGET_DIR" <<'PY'
import hashlib, io, re, sys, zipfile
from pathlib import Path

import yaml

build, target = Path(sys.argv[1]), Path(sys.argv[2])


class Loader(yaml.SafeLoader):
    pass


# CloudFormation's short tags (!Ref, !Sub, ...): their values do not matter here.
Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
template = yaml.load(Path("infra/template.yaml").read_text(), Loader=Loader)
arch = template["Globals"]["Function"]["Architectures"]
assert arch == ["arm64"], f"Globals.Function.Architectures is {arch}, expected [arm64]"
functions = {
    name: res
    for name, res in template["Resources"].items()
    if res["Type"] == "AWS::Serverless::Function"
}
assert functions, "no AWS::Serverless::Function in the template"
digests = {}
print(f"{'function':<18} {'binary':<14} {'bootstrap':>12} {'zipped':>12}")
for name, res in sorted(functions.items()):
    meta = res.get("Metadata", {})
    assert meta.get("BuildMethod") == "rust-cargolambda", f"{name}: BuildMethod {meta.get('BuildMethod')}"
    binary = meta.get("BuildProperties", {}).get("Binary")
    assert binary, f"{name}: no Metadata.BuildProperties.Binary"
    assert res["Properties"].get("Architectures", arch) == ["arm64"], f"{name}: not arm64"
    boot = build / name / "bootstrap"
    data = boot.read_bytes()
    # ELF, 64-bit, little endian, e_machine 183 (EM_AARCH64).
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, f"{boot}: not a 64-bit LE ELF"
    machine = int.from_bytes(data[18:20], "little")
    assert machine == 183, f"{boot}: e_machine {machine}, not aarch64"
    # cargo-lambda leaves each binary's bootstrap in target/lambda/<binary>/.
    built = target / "lambda" / binary / "bootstrap"
    assert hashlib.sha256(built.read_bytes()).digest() == hashlib.sha256(data).digest(), (
        f"{name}: its bootstrap is not {built}"
    )
    # Panic locations name the binary's own main.rs, and no other function's.
    mains = set(re.findall(rb"functions/[a-z]+/src/main\.rs", data))
    own = f"functions/{binary.removeprefix('trawl-')}/src/main.rs".encode()
    assert mains == {own}, f"{name}: built from {sorted(mains)}, expected {own}"
    digests.setdefault(hashlib.sha256(data).hexdigest(), []).append(name)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bootstrap", data)
    mb = lambda n: f"{n / 1e6:.1f} MB"
    print(f"{name:<18} {binary:<14} {mb(len(data)):>12} {mb(len(buf.getvalue())):>12}")
same = [names for names in digests.values() if len(names) > 1]
assert not same, f"functions share one bootstrap: {same}"
built_template = (build / "template.yaml").read_text()
for name in functions:
    assert f"CodeUri: {name}" in built_template, f"built template: {name} does not point at its artifact"
print(f"ok: {len(functions)} arm64 bootstraps, one per function")
PY
