#!/bin/sh
# Signs one build result as two throwaway builders into a new sigs repository, then verifies it:
# the whole write and read path of git-gitian on a fresh machine, with nothing kept afterwards
# but the repository.
#
# Usage (in the build directory, after `git gitian build DESCRIPTOR` wrote result/<name>-res.yml):
#   scripts/two-builders.sh DESCRIPTOR [RELEASE [SIGS_DIR]]
# RELEASE defaults to `demo`; SIGS_DIR to a new directory under /tmp. Exit status is verify's.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 DESCRIPTOR [RELEASE [SIGS_DIR]]" >&2; exit 2; }
desc=$1
release=${2:-demo}
sigs=${3:-$(mktemp -d "${TMPDIR:-/tmp}/gitian-demo.XXXXXX")/sigs}

# Throwaway keys in a throwaway GnuPG home (short path: gpg-agent's socket lives in it).
GNUPGHOME=$(mktemp -d /tmp/gdemo.XXXXXX)
export GNUPGHOME
chmod 700 "$GNUPGHOME"
trap 'gpgconf --homedir "$GNUPGHOME" --kill gpg-agent 2>/dev/null; rm -rf "$GNUPGHOME"' EXIT
trap 'exit 130' INT TERM

git init -q "$sigs"
git -C "$sigs" config user.name "git-gitian demo"
git -C "$sigs" config user.email "demo@example.invalid"
git gitian init "$sigs"

for builder in alice bob; do
    gpg --batch --quiet --passphrase '' --pinentry-mode loopback \
        --quick-gen-key "$builder <$builder@example.invalid>" ed25519 sign never 2>/dev/null
    gpg --armor --export "$builder" > "$sigs/builder-keys/$builder.asc"
done
git -C "$sigs" add builder-keys
git -C "$sigs" commit -q -m "Add builder keys of alice and bob"

for builder in alice bob; do
    git gitian sign -s "$builder" -r "$release" -d "$sigs" "$desc"
done

echo "sigs repository: $sigs"
git gitian verify -d "$sigs" -r "$release"
