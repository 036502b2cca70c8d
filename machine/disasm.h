/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_DISASM_H
#define TANDEM_DISASM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Disassemble the first instruction of @bytes (@len of them, at linear
 * address @addr) as @bits-bit code (16, 32 or 64: x86_code_bits()) into
 * @text, "mnemonic operands". Returns its length in bytes, 0 when it does
 * not decode ("?" in @text).
 */
size_t x86_describe_insn(const uint8_t *bytes, size_t len, uint64_t addr, unsigned bits,
			 char *text, size_t textlen);

#endif
