#!/usr/bin/env bash
# Installs the system libraries t2ialign links (Debian: libopenblas-dev, libpng-dev, libjpeg-dev) and builds
# the release binary at .build/release/t2ialign. Run as root or with sudo available.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if ! dpkg -s libopenblas-dev libpng-dev libjpeg-dev >/dev/null 2>&1; then
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y libopenblas-dev libpng-dev libjpeg-dev
fi
swift build -c release --product t2ialign
echo "built .build/release/t2ialign"
