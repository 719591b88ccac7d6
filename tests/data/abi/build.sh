#!/usr/bin/env bash
# Rebuilds the recorded Mach-O and PE test libraries from nocore.rs (needs a nightly
# toolchain for #![no_core]; no macOS SDK or MSVC needed: rust-lld links both).
# The outputs are committed so the tests run on any machine with the stable toolchain.
set -euo pipefail
cd "$(dirname "$0")"
common=(--crate-type cdylib -C panic=abort -C linker=rust-lld -g nocore.rs)
rustc +nightly --target x86_64-apple-darwin "${common[@]}" -o libnocore.dylib
rustc +nightly --target x86_64-pc-windows-msvc "${common[@]}" -o nocore.dll -C link-arg=/NOENTRY
rm -f nocore.pdb nocore.dll.lib
rustc +nightly --target x86_64-unknown-linux-gnu --crate-type lib --emit obj -C panic=abort nocore.rs -o nocore.o
