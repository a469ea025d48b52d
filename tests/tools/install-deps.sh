#!/bin/sh
# install-deps.sh — installs the Debian packages netsim needs, only those
# missing, non-interactively.  Used by `make deps` (and so by `make demo`,
# `make check` and .ci/run).  Needs root (or sudo) only when something is
# missing.
#
#   --with-mpi   also Open MPI (optional: netsim sweep --mpi, and the
#                mpirun test of make check); .ci/run asks for it
set -eu
with_mpi=0
[ "${1:-}" = --with-mpi ] && with_mpi=1

missing=""
need_pc() { pkg-config --exists "$1" 2>/dev/null || missing="$missing $2"; }
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing="$missing $2"; }

command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
if command -v pkg-config >/dev/null 2>&1; then
    need_pc glib-2.0 libglib2.0-dev
    need_pc lua5.4 liblua5.4-dev
    need_pc cunit libcunit1-dev
else
    missing="$missing libglib2.0-dev liblua5.4-dev libcunit1-dev"
fi
need_cmd lua5.4 lua5.4
need_cmd gnuplot gnuplot-nox
need_cmd tshark tshark
if [ $with_mpi = 1 ]; then
    need_cmd mpirun openmpi-bin
    if command -v pkg-config >/dev/null 2>&1; then
        need_pc ompi-c libopenmpi-dev
    else
        missing="$missing libopenmpi-dev"
    fi
fi

[ -z "$missing" ] && exit 0

echo "netsim: installing missing packages:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "netsim: need root to install:$missing" >&2
        echo "netsim: run: apt-get install$missing" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without asking.
echo "wireshark-common wireshark-common/install-setuid boolean false" |
    $SUDO debconf-set-selections 2>/dev/null || true
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
