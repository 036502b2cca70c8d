#!/bin/sh
# BMI1, BMI2, ADX, MOVBE, RDRAND/RDSEED, AES-NI, PCLMULQDQ and SHA on every
# engine against the host CPU: tests/guests/bitops.c, run as tests/isa.sh
# runs isa.c (the host's lines are the reference; jit on/off/check; kvm
# against sw with the same model).
: "${top_srcdir:=.}"
ISA_GUEST=bitops exec sh "$top_srcdir/tests/isa.sh"
