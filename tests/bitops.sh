#!/bin/sh
# BMI1, BMI2, ADX, MOVBE, RDRAND/RDSEED, AES-NI, PCLMULQDQ and SHA on every
# engine against the host CPU: tests/guests/bitops.c, run as tests/isa.sh
# runs isa.c (the host's lines are the reference; jit on/off/check; kvm
# against sw with the same model).
: "${top_srcdir:=.}"
# -cpu max: these are not in the default model; the sw runs get what the
# software CPU implements and the host has, which is what the host program sees.
ISA_GUEST=bitops ISA_CPU=max exec sh "$top_srcdir/tests/isa.sh"
