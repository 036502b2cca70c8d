#!/bin/sh
# Networking, virtio-rng and virtio-console with a Linux guest (see
# tests/net/run.sh): DHCP and a page from the host through slirp, hostfwd
# into the guest, /dev/hwrng, /dev/hvc0; on sw, kvm and QEMU TCG.
exec "${SHELL:-/bin/sh}" "$top_srcdir/tests/net/run.sh" sw kvm qemu
