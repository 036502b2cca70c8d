// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Shifts and rotates: SHL/SAL SHR SAR ROL ROR RCL RCR SHLD SHRD.
 *
 * The count is masked to 5 bits (6 with a 64-bit operand); a masked count
 * of 0 changes neither the destination nor the flags. Flags the SDM leaves
 * undefined follow Intel hardware, as the oracle test checks on the host:
 *  - OF for counts > 1 is the 1-bit shift's OF computed from the original
 *    operand (all shifts, SHLD/SHRD, RCL/RCR, and ROL/ROR by CL or on
 *    memory), except ROL/ROR of a register by an immediate other than 1,
 *    which leave OF alone;
 *  - RCL/RCR by a multiple of (size + 1) change no flag at all;
 *  - shifts clear AF; over-long 8/16-bit SHL/SHR give CF = 0.
 * SHLD/SHRD are the exception: AMD's result for a 16-bit operand shifted
 * past its source, and AMD's undefined flags, differ from Intel's, and a
 * guest must see on this engine what KVM gives it on the same host, so
 * they follow the CPU model's vendor (see shd_flags()).
 */
#include "accel/sw/core.h"
#include "accel/sw/cpu.h"

enum shift_op { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAR, SH_SHLD,
		SH_SHRD };

struct shift_ctx {
	enum shift_op op;
	unsigned size;
	unsigned count;		/* masked, non-zero */
	uint64_t src;		/* SHLD/SHRD fill bits */
	bool keep_of;		/* ROL/ROR reg, imm with a count other than 1 */
	bool amd;		/* SHLD/SHRD: the model's vendor is AMD */
};

static uint64_t msb(uint64_t v, unsigned size)
{
	return (v >> (size * 8 - 1)) & 1;
}

static uint64_t flag_if(bool c, uint64_t f)
{
	return c ? f : 0;
}

/*
 * SHLD's result and CF: dest:src shifted left. A 16-bit operand can be
 * shifted by up to 31, past its source (result and flags undefined in the
 * SDM and the APM): Intel shifts in dest again (a:b:a), AMD src (a:b:b).
 */
static uint64_t shld_value(const struct shift_ctx *c, uint64_t a, uint64_t *cf)
{
	unsigned bits = c->size * 8, n = c->count, total = 2 * bits;
	uint64_t mask = sw_mask(c->size), b = c->src & mask;
	unsigned __int128 v = ((unsigned __int128)a << bits) | b;

	if (bits == 16) {
		v = (v << 16) | (c->amd ? b : a);
		total = 48;
	}
	*cf = (uint64_t)(v >> (total - n)) & 1;	/* the last bit shifted out */
	return (uint64_t)((v << n) >> (total - bits)) & mask;
}

/* SHRD's: src:dest shifted right; past a 16-bit source Intel has a:b:a, AMD b:b:a. */
static uint64_t shrd_value(const struct shift_ctx *c, uint64_t a, uint64_t *cf)
{
	unsigned bits = c->size * 8;
	uint64_t mask = sw_mask(c->size), b = c->src & mask;
	unsigned __int128 v = ((unsigned __int128)b << bits) | a, w;

	if (bits == 16)
		v |= (unsigned __int128)(c->amd ? b : a) << 32;
	w = v >> (c->count - 1);
	*cf = (uint64_t)w & 1;
	return (uint64_t)(w >> 1) & mask;
}

/*
 * SHLD/SHRD flags. SF ZF PF come from the result, CF is the last bit out;
 * OF is defined for a count of 1 only, AF never, nothing past the operand
 * size. Intel: OF is the 1-bit shift's from the original operand, AF = 0.
 * AMD (as the oracle test sees it on Zen): OF as if the result came from
 * a 1-bit shift, i.e. CF ^ the sign of dest << count for SHLD and the top
 * two result bits differing for SHRD; AF = 1; CF = 0 past the size.
 */
static uint64_t shd_flags(const struct shift_ctx *c, uint64_t a, uint64_t r, uint64_t cf)
{
	unsigned size = c->size, bits = size * 8, n = c->count;
	uint64_t of, af = 0;

	if (!c->amd) {
		if (c->op == SH_SHLD)
			of = msb(a, size) ^ ((a >> (bits - 2)) & 1);
		else
			of = (c->src & 1) ^ msb(a, size);
	} else {
		if (n > bits)
			cf = 0;
		if (c->op == SH_SHLD)
			of = cf ^ (n < bits ? msb(a << n, size) : 0);
		else
			of = msb(r, size) ^ ((r >> (bits - 2)) & 1);
		af = X86_RFLAGS_AF;
	}
	return sw_flags_szp(r, size) | flag_if(cf, X86_RFLAGS_CF) | flag_if(of, X86_RFLAGS_OF) |
	       af;
}

static uint64_t shift_double(struct sw_cpu *cpu, const struct shift_ctx *c, uint64_t a)
{
	uint64_t r, cf;

	r = c->op == SH_SHLD ? shld_value(c, a, &cf) : shrd_value(c, a, &cf);
	sw_set_flags(cpu, SW_FLAGS_OSZAPC, shd_flags(c, a, r, cf));
	return r;
}

static uint64_t shift_fn(struct sw_cpu *cpu, uint64_t a, void *opaque)
{
	const struct shift_ctx *c = opaque;
	unsigned size = c->size, bits = size * 8, n = c->count;
	uint64_t mask = sw_mask(size), r, cf, f;

	a &= mask;
	switch (c->op) {
	case SH_SHL:
		r = n < 64 ? (a << n) & mask : 0;
		cf = n <= bits ? (a >> (bits - n)) & 1 : 0;
		/* OF: as for a 1-bit shift of the original value, whatever the count. */
		f = sw_flags_szp(r, size) | flag_if(cf, X86_RFLAGS_CF) |
		    flag_if(msb(a, size) ^ ((a >> (bits - 2)) & 1), X86_RFLAGS_OF);
		sw_set_flags(cpu, SW_FLAGS_OSZAPC, f);
		return r;
	case SH_SHR:
		r = n < 64 ? a >> n : 0;
		cf = n <= bits ? (a >> (n - 1)) & 1 : 0;
		f = sw_flags_szp(r, size) | flag_if(cf, X86_RFLAGS_CF) |
		    flag_if(msb(a, size), X86_RFLAGS_OF);
		sw_set_flags(cpu, SW_FLAGS_OSZAPC, f);
		return r;
	case SH_SAR: {
		int64_t s = (int64_t)(a << (64 - bits)) >> (64 - bits);
		unsigned k = n < bits ? n : bits;

		r = (uint64_t)(k >= 64 ? s >> 63 : s >> k) & mask;
		cf = (uint64_t)(s >> (k - 1 > 63 ? 63 : k - 1)) & 1;
		f = sw_flags_szp(r, size) | flag_if(cf, X86_RFLAGS_CF);
		sw_set_flags(cpu, SW_FLAGS_OSZAPC, f);
		return r;
	}
	case SH_ROL: {
		unsigned k = n % bits;

		r = k ? ((a << k) | (a >> (bits - k))) & mask : a;
		cf = r & 1;
		f = flag_if(cf, X86_RFLAGS_CF) |
		    flag_if(msb(a, size) ^ ((a >> (bits - 2)) & 1), X86_RFLAGS_OF);
		sw_set_flags(cpu, c->keep_of ? X86_RFLAGS_CF : X86_RFLAGS_CF | X86_RFLAGS_OF, f);
		return r;
	}
	case SH_ROR: {
		unsigned k = n % bits;

		r = k ? ((a >> k) | (a << (bits - k))) & mask : a;
		cf = msb(r, size);
		f = flag_if(cf, X86_RFLAGS_CF) | flag_if(msb(a, size) ^ (a & 1), X86_RFLAGS_OF);
		sw_set_flags(cpu, c->keep_of ? X86_RFLAGS_CF : X86_RFLAGS_CF | X86_RFLAGS_OF, f);
		return r;
	}
	case SH_RCL:
	case SH_RCR: {
		/* Rotate the (bits + 1)-bit value CF:a. */
		unsigned k = n % (bits + 1);
		uint64_t old_cf = (cpu->st.rflags & X86_RFLAGS_CF) ? 1 : 0;
		unsigned __int128 v = ((unsigned __int128)old_cf << bits) | a;
		unsigned __int128 m = ((unsigned __int128)1 << (bits + 1)) - 1;

		if (!k)
			return a;	/* a whole turn through CF: no flag changes */
		{
			if (c->op == SH_RCL)
				v = ((v << k) | (v >> (bits + 1 - k))) & m;
			else
				v = ((v >> k) | (v << (bits + 1 - k))) & m;
		}
		r = (uint64_t)v & mask;
		cf = (uint64_t)(v >> bits) & 1;
		/* OF: the 1-bit rotate's, from the original value. */
		if (c->op == SH_RCL)
			f = flag_if(msb(a, size) ^ ((a >> (bits - 2)) & 1), X86_RFLAGS_OF);
		else
			f = flag_if(msb(a, size) ^ old_cf, X86_RFLAGS_OF);
		f |= flag_if(cf, X86_RFLAGS_CF);
		sw_set_flags(cpu, X86_RFLAGS_CF | X86_RFLAGS_OF, f);
		return r;
	}
	case SH_SHLD:
	case SH_SHRD:
	default:
		return shift_double(cpu, c, a);
	}
}

static void do_shift(struct sw_cpu *cpu, const struct sw_insn *in, enum shift_op op)
{
	struct shift_ctx c = { .op = op, .size = sw_op_size(in, 0) };
	unsigned cnt_op = (op == SH_SHLD || op == SH_SHRD) ? 2 : 1;
	unsigned cmask = c.size == 8 ? 0x3f : 0x1f;

	c.count = (unsigned)sw_op_read(cpu, in, cnt_op) & cmask;
	if (cnt_op == 2) {
		c.src = sw_op_read(cpu, in, 1);
		c.amd = sw_vendor_amd();
	}
	/*
	 * Intel leaves OF alone for ROL/ROR of a register by an immediate
	 * other than 1; the CL and memory forms compute the 1-bit OF.
	 */
	c.keep_of = (op == SH_ROL || op == SH_ROR) && c.count != 1 &&
		    in->op[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    in->op[1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE;
	if (!c.count) {
		/* Nothing changes, but the access is still checked (and faults). */
		if (in->op[0].type == ZYDIS_OPERAND_TYPE_MEMORY) {
			struct sw_memref m;

			sw_op_memref(cpu, in, 0, SW_ACC_WRITE, &m);
		} else if (c.size == 4 && sw_64bit(cpu)) {
			/* A 32-bit register destination is still written (zero-extended). */
			sw_op_write(cpu, in, 0, sw_op_read(cpu, in, 0));
		}
		return;
	}
	sw_op_rmw(cpu, in, 0, shift_fn, &c);
}

static void h_rol(struct sw_cpu *cpu, const struct sw_insn *in) { do_shift(cpu, in, SH_ROL); }
static void h_ror(struct sw_cpu *cpu, const struct sw_insn *in) { do_shift(cpu, in, SH_ROR); }
static void h_rcl(struct sw_cpu *cpu, const struct sw_insn *in) { do_shift(cpu, in, SH_RCL); }
static void h_rcr(struct sw_cpu *cpu, const struct sw_insn *in) { do_shift(cpu, in, SH_RCR); }
static void h_shl(struct sw_cpu *cpu, const struct sw_insn *in) { do_shift(cpu, in, SH_SHL); }
static void h_shr(struct sw_cpu *cpu, const struct sw_insn *in) { do_shift(cpu, in, SH_SHR); }
static void h_sar(struct sw_cpu *cpu, const struct sw_insn *in) { do_shift(cpu, in, SH_SAR); }
static void h_shld(struct sw_cpu *cpu, const struct sw_insn *in) { do_shift(cpu, in, SH_SHLD); }
static void h_shrd(struct sw_cpu *cpu, const struct sw_insn *in) { do_shift(cpu, in, SH_SHRD); }

void sw_register_shift(void)
{
	sw_handlers[ZYDIS_MNEMONIC_ROL] = h_rol;
	sw_handlers[ZYDIS_MNEMONIC_ROR] = h_ror;
	sw_handlers[ZYDIS_MNEMONIC_RCL] = h_rcl;
	sw_handlers[ZYDIS_MNEMONIC_RCR] = h_rcr;
	sw_handlers[ZYDIS_MNEMONIC_SHL] = h_shl;
	sw_handlers[ZYDIS_MNEMONIC_SHR] = h_shr;
	sw_handlers[ZYDIS_MNEMONIC_SAR] = h_sar;
	sw_handlers[ZYDIS_MNEMONIC_SHLD] = h_shld;
	sw_handlers[ZYDIS_MNEMONIC_SHRD] = h_shrd;
}
