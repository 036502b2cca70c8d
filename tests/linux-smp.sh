#!/bin/sh
# Linux with four vCPUs (tests/linux/run.sh --mode smp): every CPU comes
# online (nproc = 4) and four parallel hashing jobs agree with the host's
# hash, on sw and kvm (on kvm_pvm too, where guest ring 0 runs on the
# software CPU and 64-bit user code in KVM, each vCPU switching between
# them on its own). Skips with the reason when no kernel can be fetched.
exec "${SHELL:-/bin/sh}" "$top_srcdir/tests/linux/run.sh" --smp 4 --mode smp sw kvm
