#!/usr/bin/env bash
# Builds VeilrankFFI.xcframework (the Rust library for iOS devices and simulators) and the Swift
# layer Veilrank.swift, for the Swift package beside this script. macOS with Xcode only: it is
# NOT run in CI (no Swift toolchain or Xcode on the project's Linux machines); CI compiles and
# links the generated C header with clang instead (bindings/run-tests swift).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=bindings/swift
targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
rustup target add "${targets[@]}"
for t in "${targets[@]}"; do
  cargo build --locked --release -p veilrank-ffi --lib --target "$t"
done
# the generator reads the metadata of a host build of the same library
cargo build --locked --release -p veilrank-ffi --features bindgen
target="${CARGO_TARGET_DIR:-target}"
gen=$(mktemp -d)
"$target/release/uniffi-bindgen" generate --library "$target/release/libveilrank_ffi.dylib" \
  --language swift --out-dir "$gen"
mkdir -p "$out/Sources/Veilrank" "$gen/headers"
cp "$gen/Veilrank.swift" "$out/Sources/Veilrank/"
cp "$gen/veilrankFFI.h" "$gen/headers/"
cp "$gen/veilrankFFI.modulemap" "$gen/headers/module.modulemap"
mkdir -p "$gen/simulator"
lipo -create "$target/aarch64-apple-ios-sim/release/libveilrank_ffi.a" \
  "$target/x86_64-apple-ios/release/libveilrank_ffi.a" -output "$gen/simulator/libveilrank_ffi.a"
rm -rf "$out/VeilrankFFI.xcframework"
xcodebuild -create-xcframework \
  -library "$target/aarch64-apple-ios/release/libveilrank_ffi.a" -headers "$gen/headers" \
  -library "$gen/simulator/libveilrank_ffi.a" -headers "$gen/headers" \
  -output "$out/VeilrankFFI.xcframework"
echo "built $out/VeilrankFFI.xcframework and $out/Sources/Veilrank/Veilrank.swift"
