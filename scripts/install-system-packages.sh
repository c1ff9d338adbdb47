#!/usr/bin/env bash
# Debian packages the tests need: Go (to build kube-apiserver), etcd, Chromium, openssl, Node
# (`node --test` runs the page script's unit tests).
set -euo pipefail
packages=(golang-go etcd-server etcd-client rsync golang-github-modern-go-reflect2-dev
          chromium openssl ca-certificates git make nodejs)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=; [[ $(id -u) == 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
