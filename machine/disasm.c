// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One instruction as text, for messages (KVM's emulation failures). Apart
 * from x86_state.c so that what links the state alone (the loader fuzzer)
 * does not need Capstone.
 */
#include <stdio.h>

#include <capstone/capstone.h>

#include "machine/disasm.h"

size_t x86_describe_insn(const uint8_t *bytes, size_t len, uint64_t addr, unsigned bits,
			 char *text, size_t textlen)
{
	cs_mode mode = bits == 64 ? CS_MODE_64 : bits == 32 ? CS_MODE_32 : CS_MODE_16;
	cs_insn *insn;
	size_t n = 0;
	csh cs;

	snprintf(text, textlen, "?");
	if (cs_open(CS_ARCH_X86, mode, &cs) != CS_ERR_OK)
		return 0;
	if (cs_disasm(cs, bytes, len, addr, 1, &insn) == 1) {
		/* No trailing blank for instructions without operands ("iretd"). */
		snprintf(text, textlen, "%s%s%s", insn->mnemonic, insn->op_str[0] ? " " : "",
			 insn->op_str);
		n = insn->size;
		cs_free(insn, 1);
	}
	cs_close(&cs);
	return n;
}
