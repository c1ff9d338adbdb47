#!/usr/bin/env bash
# Builds kube-apiserver v1.20.2 from Debian bookworm's `kubernetes` source package, once.
#
# Debian ships no kube-apiserver binary, but the orig tarball of its `kubernetes` source package
# holds the whole vendored tree. Three fixes make it build and behave with Debian's Go 1.19:
#   - k8s' own `make` runs the OpenAPI generators a plain `go build` would miss;
#   - the vendored reflect2 1.0.1 crashes on Go 1.19, so Debian's 1.0.2 replaces it;
#   - the vendored OpenAPI validator asks `reflect.DeepEqual(reflect.Zero(T), reflect.ValueOf(v))`
#     to spot nulls. Under Go 1.19 that is true for "" (both point at the same zero value), so
#     every empty string in a custom resource was refused as null; Kubernetes 1.20, built with
#     Go 1.15, only ever matched nil there, so the check becomes `data == nil`.
#
# Output: $STARTPUNKT_CACHE/kube-apiserver-v1.20.2-r3 (default cache: ~/.cache/startpunkt); the
# suffix is this recipe's revision, so a changed recipe never reuses an older binary.
# Skips the build when that binary exists, or when STARTPUNKT_KUBE_APISERVER names one.
set -euo pipefail

VERSION=1.20.5+really1.20.2-1.1+deb12u1
cache=${STARTPUNKT_CACHE:-$HOME/.cache/startpunkt}
out=$cache/kube-apiserver-v1.20.2-r3

if [[ -n ${STARTPUNKT_KUBE_APISERVER:-} ]]; then
  [[ -x $STARTPUNKT_KUBE_APISERVER ]] || { echo "STARTPUNKT_KUBE_APISERVER=$STARTPUNKT_KUBE_APISERVER is not an executable" >&2; exit 1; }
  echo "using kube-apiserver from STARTPUNKT_KUBE_APISERVER: $STARTPUNKT_KUBE_APISERVER"
  exit 0
fi
if [[ -x $out ]]; then
  echo "kube-apiserver already built: $out"
  exit 0
fi

for tool in go rsync; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/install-system-packages.sh first" >&2; exit 1; }
done
[[ -d /usr/share/gocode/src/github.com/modern-go/reflect2 ]] || {
  echo "missing golang-github-modern-go-reflect2-dev: run scripts/install-system-packages.sh first" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/startpunkt-kube-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache" "$work/apt/lists/partial" "$work/home"

# A private deb-src list, so the machine's apt configuration stays untouched.
echo 'deb-src http://deb.debian.org/debian bookworm main' > "$work/apt/sources.list"
apto=(-o "Dir::Etc::SourceList=$work/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$work/apt/lists")
apt-get "${apto[@]}" update -qq
(cd "$work" && apt-get "${apto[@]}" source --download-only "kubernetes=$VERSION" -qq)
tar -C "$work" -xzf "$work"/kubernetes_*.orig.tar.gz

src=$work/kubernetes-1.20.2
rm -rf "$src/vendor/github.com/modern-go/reflect2"
cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 "$src/vendor/github.com/modern-go/reflect2"

validator=$src/vendor/k8s.io/kube-openapi/pkg/validation/validate/type.go
sed -i 's/if data == nil || reflect.DeepEqual(reflect.Zero(reflect.TypeOf(data)), reflect.ValueOf(data)) {/if data == nil {/' "$validator"
grep -q '^	if data == nil {$' "$validator" || { echo "could not patch $validator" >&2; exit 1; }

cd "$src"
mkdir -p .go/src/k8s.io && ln -s ../../.. .go/src/k8s.io/kubernetes
echo "building kube-apiserver v1.20.2 (about 8 minutes on 2 cores)"
env GOPATH="$src/.go" GOPROXY=off CGO_ENABLED=0 HOME="$work/home" \
  make WHAT=cmd/kube-apiserver GOLDFLAGS="-s -w" >"$work/build.log" 2>&1 || {
  tail -40 "$work/build.log" >&2; exit 1; }
install -m 0755 _output/bin/kube-apiserver "$out.tmp"
mv "$out.tmp" "$out"
"$out" --version
