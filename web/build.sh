#!/usr/bin/env bash
# Builds the npm package `veilrank` into web/pkg: the WebAssembly (release), its wasm-bindgen
# glue, and the TypeScript client compiled to JavaScript with its type declarations.
#
# Needs: the wasm32-unknown-unknown target, wasm-bindgen-cli at exactly the version of the
# wasm-bindgen crate in Cargo.lock, Node.js and npm (TypeScript and binaryen's wasm-opt are dev
# dependencies: Debian's binaryen 108 writes the externref table wrongly). `.ci/run` installs all
# of them.
set -euo pipefail
cd "$(dirname "$0")"
target_dir="${CARGO_TARGET_DIR:-$(cd .. && pwd)/target}"

wanted=$(grep -A1 '^name = "wasm-bindgen"$' ../Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')
if [ "$have" != "$wanted" ]; then
  echo "web/build.sh: wasm-bindgen-cli $wanted is needed (found: ${have:-none});" \
       "cargo install wasm-bindgen-cli --version $wanted" >&2
  exit 1
fi

cargo build -p veilrank-web --target wasm32-unknown-unknown --release --locked
rm -rf js/src/gen pkg
mkdir -p js/src/gen pkg/gen
wasm-bindgen --target web --out-dir js/src/gen \
  "$target_dir/wasm32-unknown-unknown/release/veilrank_web.wasm"
(cd js && { [ -d node_modules ] || npm ci --no-audit --no-fund; })
js/node_modules/.bin/wasm-opt -O3 --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
  --enable-nontrapping-float-to-int --enable-multivalue --enable-reference-types --enable-simd \
  js/src/gen/veilrank_web_bg.wasm -o js/src/gen/veilrank_web_bg.wasm
(cd js && npx tsc -p .)
cp js/src/gen/veilrank_web.js js/src/gen/veilrank_web.d.ts js/src/gen/veilrank_web_bg.wasm pkg/gen/
node -e '
  const p = require("./js/package.json");
  delete p.devDependencies; delete p.scripts;
  require("fs").writeFileSync("pkg/package.json", JSON.stringify(p, null, 2) + "\n");
'
cp README.md pkg/README.md
echo "web/pkg: $(du -sh pkg | cut -f1) ($(stat -c %s pkg/gen/veilrank_web_bg.wasm) bytes of WebAssembly," \
     "$(gzip -9c pkg/gen/veilrank_web_bg.wasm | wc -c) gzipped)"
