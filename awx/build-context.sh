#!/bin/sh
# The execution environment's build context: mzops's source (as it is in this tree,
# without its virtualenv and git history), the collection's archive, then
# `ansible-builder create`. No container engine is needed for this step; build the
# image from the context with `podman build` (or `ansible-builder build`).
#   sh awx/build-context.sh [CONTEXT_DIR]     (default: awx/context)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
context=${1:-$here/context}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/files"
cp "$here/execution-environment.yml" "$work/"
tar -C "$repo" --exclude=./.venv --exclude=./.git --exclude=./awx/context --exclude='*/__pycache__' \
    --exclude=./mzops.egg-info --exclude=./.hypothesis -czf "$work/files/mzops-src.tar.gz" .
ansible-galaxy collection build --force --output-path "$work" "$repo/collections/ansible_collections/mzops/mlps3" >/dev/null
mv "$work"/mzops-mlps3-*.tar.gz "$work/files/mzops-mlps3.tar.gz"
ansible-builder create --file "$work/execution-environment.yml" --context "$context" --output-filename Containerfile
