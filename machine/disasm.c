// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One instruction as text, for messages (KVM's emulation failures) and
 * the sw CPU's in_asm trace. Zydis, the decoder the software CPU itself
 * uses, so a trace shows the instruction exactly as it was decoded. Apart
 * from x86_state.c so that what links the state alone (the loader fuzzer)
 * does not need a decoder.
 */
#include <stdio.h>

#include <Zydis/Zydis.h>

#include "machine/disasm.h"

size_t x86_describe_insn(const uint8_t *bytes, size_t len, uint64_t addr, unsigned bits,
			 char *text, size_t textlen)
{
	ZydisMachineMode mode = bits == 64 ? ZYDIS_MACHINE_MODE_LONG_64 :
				bits == 32 ? ZYDIS_MACHINE_MODE_LONG_COMPAT_32 :
					     ZYDIS_MACHINE_MODE_LONG_COMPAT_16;
	ZydisDisassembledInstruction insn;

	snprintf(text, textlen, "?");
	if (!ZYAN_SUCCESS(ZydisDisassembleIntel(mode, addr, bytes, len, &insn)))
		return 0;
	snprintf(text, textlen, "%s", insn.text);
	return insn.info.length;
}
