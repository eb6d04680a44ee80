#!/usr/bin/env bash
# Vendor the compiled GOV.UK Frontend and MoJ Frontend browser assets into
# hub/web/static/ so the app needs no npm at run time.
#
# Usage:  scripts/vendor-frontend.sh
#
# Needs: bash, node + npm (build-time only), access to the npm registry.
# Writes (and only writes): hub/web/static/govuk/, hub/web/static/moj/,
# hub/web/static/licences/, hub/web/static/VENDORED.md
#
# To upgrade: change the two pinned versions below, check that the MoJ
# version's peerDependency accepts the GOV.UK version
# (`npm view @ministryofjustice/frontend@X peerDependencies`), that
# govuk-frontend-jinja targets that GOV.UK Frontend version, rerun, and
# review the diff.
set -euo pipefail

GOVUK_FRONTEND_VERSION="6.3.0"
MOJ_FRONTEND_VERSION="11.1.0"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/hub/web/static"

command -v npm >/dev/null || { echo "error: npm is required (build-time only)" >&2; exit 1; }
command -v node >/dev/null || { echo "error: node is required (build-time only)" >&2; exit 1; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/vendor-frontend.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

echo "==> Installing govuk-frontend@$GOVUK_FRONTEND_VERSION @ministryofjustice/frontend@$MOJ_FRONTEND_VERSION in $TMP"
(
  cd "$TMP"
  printf '{"name":"vendor-frontend","private":true}\n' > package.json
  # Default (strict) peer resolution: npm fails if the MoJ version's
  # peerDependency does not accept the pinned govuk-frontend version.
  npm install --ignore-scripts --no-audit --no-fund --save-exact \
    "govuk-frontend@$GOVUK_FRONTEND_VERSION" \
    "@ministryofjustice/frontend@$MOJ_FRONTEND_VERSION"
)

NM="$TMP/node_modules"
GOVUK_SRC="$NM/govuk-frontend/dist/govuk"
MOJ_SRC="$NM/@ministryofjustice/frontend/moj"

pkg_field() { node -p "require('$1/package.json')$2"; }
lock_field() { node -p "require('$TMP/package-lock.json').packages['node_modules/$1'].$2"; }

# Check the installed versions and licences are what we expect.
[[ "$(pkg_field "$NM/govuk-frontend" .version)" == "$GOVUK_FRONTEND_VERSION" ]] || { echo "error: govuk-frontend version mismatch" >&2; exit 1; }
[[ "$(pkg_field "$NM/@ministryofjustice/frontend" .version)" == "$MOJ_FRONTEND_VERSION" ]] || { echo "error: MoJ Frontend version mismatch" >&2; exit 1; }
for p in govuk-frontend @ministryofjustice/frontend; do
  lic="$(pkg_field "$NM/$p" .license)"
  [[ "$lic" == "MIT" ]] || { echo "error: $p licence is now '$lic', not MIT: review licences/ and VENDORED.md" >&2; exit 1; }
done
MOJ_PEER="$(pkg_field "$NM/@ministryofjustice/frontend" ".peerDependencies['govuk-frontend']")"
GOVUK_INTEGRITY="$(lock_field govuk-frontend integrity)"
MOJ_INTEGRITY="$(lock_field @ministryofjustice/frontend integrity)"

echo "==> Staging files"
STAGE="$TMP/stage"
mkdir -p "$STAGE/govuk" "$STAGE/moj" "$STAGE/licences"

# GOV.UK Frontend: minified CSS, minified ES module bundle, assets/
# (fonts, images, manifest.json). No source maps, no Sass, no Nunjucks.
cp "$GOVUK_SRC/govuk-frontend.min.css" "$GOVUK_SRC/govuk-frontend.min.js" "$STAGE/govuk/"
cp -R "$GOVUK_SRC/assets" "$STAGE/govuk/assets"

# MoJ Frontend: minified CSS (MoJ components only, load after the GOV.UK
# CSS), minified ES module bundle, assets/ (images the CSS references,
# plus the MoJ header logo/icons).
cp "$MOJ_SRC/moj-frontend.min.css" "$MOJ_SRC/moj-frontend.min.js" "$STAGE/moj/"
cp -R "$MOJ_SRC/assets" "$STAGE/moj/assets"

# Neither npm tarball ships a LICENSE file; the texts below are the
# upstream repositories' licence files:
#   https://github.com/alphagov/govuk-frontend/blob/main/LICENSE.txt
#   https://github.com/ministryofjustice/moj-frontend/blob/main/LICENSE
cat > "$STAGE/licences/govuk-frontend-LICENSE.txt" <<'EOF'
The MIT License (MIT)

Copyright (C) 2017 Crown Copyright (Government Digital Service)

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
EOF
cat > "$STAGE/licences/moj-frontend-LICENSE.txt" <<'EOF'
MIT License

Copyright (c) 2019 Ministry of Justice

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
EOF

# Every url(...) in the compiled CSS must be root-relative /assets/... and
# resolve to a file in govuk/assets/ or moj/assets/ (the app serves
# /assets/<path> from those two folders, GOV.UK first).
echo "==> Checking CSS url() references"
for css in "$STAGE/govuk/govuk-frontend.min.css" "$STAGE/moj/moj-frontend.min.css"; do
  while IFS= read -r url; do
    [[ "$url" == /assets/* ]] || { echo "error: unexpected url($url) in $(basename "$css")" >&2; exit 1; }
    rel="${url#/assets/}"
    [[ -f "$STAGE/govuk/assets/$rel" || -f "$STAGE/moj/assets/$rel" ]] \
      || { echo "error: $(basename "$css") references $url, not found in vendored assets" >&2; exit 1; }
  done < <(grep -o 'url([^)]*)' "$css" | sed -E 's/^url\(["'\'']?//; s/["'\'']?\)$//' | sort -u)
done

# The /assets/ route serves govuk/assets first; make sure MoJ files never
# shadow (or are shadowed by) GOV.UK files of the same name.
dupes="$(cd "$STAGE" && comm -12 <(cd govuk/assets && find . -type f | sort) <(cd moj/assets && find . -type f | sort))"
[[ -z "$dupes" ]] || { echo "error: same path in govuk/assets and moj/assets: $dupes" >&2; exit 1; }

echo "==> Writing VENDORED.md"
sums="$(cd "$STAGE" && find govuk moj -maxdepth 1 -type f -name '*.min.*' | sort | xargs sha256sum)"
cat > "$STAGE/VENDORED.md" <<EOF
# Vendored front-end assets

Generated by \`scripts/vendor-frontend.sh\`; do not edit the vendored files
by hand. Refresh (needs node/npm and the npm registry, build-time only):

\`\`\`sh
scripts/vendor-frontend.sh
\`\`\`

which runs, in a temporary directory outside the repository:

\`\`\`sh
npm install --ignore-scripts --no-audit --no-fund --save-exact \\
  govuk-frontend@$GOVUK_FRONTEND_VERSION @ministryofjustice/frontend@$MOJ_FRONTEND_VERSION
\`\`\`

and copies the compiled files below (no source maps, Sass, Nunjucks or
node_modules). To upgrade, edit the two pinned versions at the top of the
script.

| Folder | npm package | Version | Licence | Copied from |
|---|---|---|---|---|
| \`govuk/\` | [govuk-frontend](https://www.npmjs.com/package/govuk-frontend) | $GOVUK_FRONTEND_VERSION | MIT, [licences/govuk-frontend-LICENSE.txt](licences/govuk-frontend-LICENSE.txt) | \`dist/govuk/govuk-frontend.min.css\`, \`dist/govuk/govuk-frontend.min.js\`, \`dist/govuk/assets/\` |
| \`moj/\` | [@ministryofjustice/frontend](https://www.npmjs.com/package/@ministryofjustice/frontend) | $MOJ_FRONTEND_VERSION | MIT, [licences/moj-frontend-LICENSE.txt](licences/moj-frontend-LICENSE.txt) | \`moj/moj-frontend.min.css\`, \`moj/moj-frontend.min.js\`, \`moj/assets/\` |

- @ministryofjustice/frontend $MOJ_FRONTEND_VERSION declares peerDependency
  \`govuk-frontend: $MOJ_PEER\`. \`govuk-frontend-jinja\` 4.1.0 (Python) targets
  GOV.UK Frontend 6.3.0; keep the two in step.
- npm tarball integrity: govuk-frontend \`$GOVUK_INTEGRITY\`;
  @ministryofjustice/frontend \`$MOJ_INTEGRITY\`.
- Licence texts are from the upstream repositories (the npm tarballs ship no
  LICENSE file): alphagov/govuk-frontend \`LICENSE.txt\`,
  ministryofjustice/moj-frontend \`LICENSE\`. GOV.UK Frontend's documentation
  is Crown copyright under the Open Government Licence 3.0; the code is MIT.

## Serving

- The app serves this folder at \`/static/\`.
- Both compiled CSS files reference fonts and images by **root-relative
  \`/assets/...\` URLs** (\`/assets/fonts/*.woff2\`, \`/assets/images/*.svg\`), so
  the app must serve \`/assets/<path>\` from \`static/govuk/assets/\`, falling
  back to \`static/moj/assets/\` (file names do not overlap; the script checks).
- Both \`.min.js\` files are ES modules: load with \`<script type="module">\`.
  GOV.UK exports \`initAll\`, \`createAll\`, \`isSupported\`, \`version\` and the
  component classes; MoJ exports \`initAll\`, \`version\` and its component
  classes. Components only initialise when \`<body>\` has the
  \`govuk-frontend-supported\` class (the govuk-frontend-jinja template adds it).
- The min files end with a \`sourceMappingURL\` comment; the maps are not
  vendored, so browser dev tools will report a missing map. Harmless.

## sha256

\`\`\`
$sums
\`\`\`
EOF

echo "==> Replacing $DEST/{govuk,moj,licences,VENDORED.md}"
mkdir -p "$DEST"
rm -rf "$DEST/govuk" "$DEST/moj" "$DEST/licences"
cp -R "$STAGE/govuk" "$STAGE/moj" "$STAGE/licences" "$DEST/"
cp "$STAGE/VENDORED.md" "$DEST/VENDORED.md"

du -sh "$DEST/govuk" "$DEST/moj" "$DEST/licences"
echo "Done: govuk-frontend $GOVUK_FRONTEND_VERSION, @ministryofjustice/frontend $MOJ_FRONTEND_VERSION"
