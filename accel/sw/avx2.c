// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The integer instructions AVX2 adds beyond the VEX.256 forms of the SSE
 * ones (avx_int.c): broadcasts, 128-bit lane inserts/extracts/permutes,
 * VPERMD/VPERMQ, VPBLENDD, the masked moves VPMASKMOVD/Q and the gathers
 * (VPGATHERxx and VGATHERxPS/PD, which move the same bits).
 *
 * Masked accesses (SDM vol. 2, VPMASKMOV and VPGATHERDD): an element
 * whose mask bit (its top bit) is clear is not accessed at all, so it
 * can never fault, whatever its address. VPMASKMOV checks every
 * selected element before it writes anything (precise). A gather loads
 * element by element from the lowest; after each one it writes its
 * value into the destination and clears its mask element, so a fault on
 * a later element leaves a state from which the instruction restarts
 * and gathers only what is left. When it completes, the mask is zero.
 */
#include "accel/sw/avx.h"

static unsigned imm8_of(const struct sw_insn *in, unsigned i)
{
	return (unsigned)(in->op[i].imm.value.u & 0xff);
}

static void avx2_enter(struct sw_cpu *cpu, const struct sw_insn *in)
{
	sw_avx_enter(cpu, in, SW_FEAT_AVX2);
}

/* VPBROADCASTB/W/D/Q: the low element of op1 into every element. */
static void avx2_pbroadcast(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned len = sw_vex_len(in), e;
	union sw_yvec s, r;

	switch (in->zi.mnemonic) {
	case ZYDIS_MNEMONIC_VPBROADCASTB:
		e = 1;
		break;
	case ZYDIS_MNEMONIC_VPBROADCASTW:
		e = 2;
		break;
	case ZYDIS_MNEMONIC_VPBROADCASTD:
		e = 4;
		break;
	default:
		e = 8;
		break;
	}
	avx2_enter(cpu, in);
	sw_avx_read(cpu, in, 1, &s);
	memset(&r, 0, sizeof(r));
	for (unsigned i = 0; i < len; i += e)
		memcpy(r.b + i, s.b, e);
	sw_avx_write(cpu, in, 0, &r);
}

/* VBROADCASTI128 ymm, m128: both lanes. */
static void avx2_broadcasti128(struct sw_cpu *cpu, const struct sw_insn *in)
{
	union sw_yvec s;

	avx2_enter(cpu, in);
	if (!sw_op_is_mem(in, 1))
		sw_ud(cpu);
	sw_avx_read(cpu, in, 1, &s);
	s.x[1] = s.x[0];
	sw_avx_write(cpu, in, 0, &s);
}

/* VINSERTI128 ymm1, ymm2, xmm3/m128, imm8: op1 with lane imm8[0] replaced. */
static void avx2_inserti128(struct sw_cpu *cpu, const struct sw_insn *in)
{
	union sw_yvec a, b;

	avx2_enter(cpu, in);
	sw_avx_read(cpu, in, 2, &b);
	sw_avx_read(cpu, in, 1, &a);
	a.x[imm8_of(in, 3) & 1] = b.x[0];
	sw_avx_write(cpu, in, 0, &a);
}

/* VEXTRACTI128 xmm/m128, ymm, imm8: lane imm8[0]. */
static void avx2_extracti128(struct sw_cpu *cpu, const struct sw_insn *in)
{
	union sw_yvec s, r = { 0 };

	avx2_enter(cpu, in);
	sw_avx_read(cpu, in, 1, &s);
	r.x[0] = s.x[imm8_of(in, 2) & 1];
	sw_avx_write(cpu, in, 0, &r);
}

/*
 * VPERM2I128: each result lane is one of op1's or op2's lanes
 * (imm8[1:0] and [5:4]), or zero (imm8[3] and [7]).
 */
static void avx2_perm2i128(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned imm = imm8_of(in, 3);
	union sw_yvec a, b, r;

	avx2_enter(cpu, in);
	sw_avx_read(cpu, in, 2, &b);
	sw_avx_read(cpu, in, 1, &a);
	for (unsigned l = 0; l < 2; l++) {
		unsigned c = (imm >> (4 * l)) & 0xf;
		const union sw_yvec *src = (c & 2) ? &b : &a;

		if (c & 8)
			memset(&r.x[l], 0, 16);
		else
			r.x[l] = src->x[c & 1];
	}
	sw_avx_write(cpu, in, 0, &r);
}

/* VPERMD ymm1, ymm2, ymm3/m256: op2's dwords picked by op1's (low three bits). */
static void avx2_permd(struct sw_cpu *cpu, const struct sw_insn *in)
{
	union sw_yvec idx, s, r;

	avx2_enter(cpu, in);
	sw_avx_read(cpu, in, 2, &s);
	sw_avx_read(cpu, in, 1, &idx);
	for (unsigned i = 0; i < 8; i++)
		r.d[i] = s.d[idx.d[i] & 7];
	sw_avx_write(cpu, in, 0, &r);
}

/* VPERMQ ymm1, ymm2/m256, imm8: op1's qwords picked by imm8 two bits each. */
static void avx2_permq(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned imm = imm8_of(in, 2);
	union sw_yvec s, r;

	avx2_enter(cpu, in);
	sw_avx_read(cpu, in, 1, &s);
	for (unsigned i = 0; i < 4; i++)
		r.q[i] = s.q[(imm >> (2 * i)) & 3];
	sw_avx_write(cpu, in, 0, &r);
}

/* VPBLENDD: dword i of op2 where imm8 bit i is set, else of op1. */
static void avx2_pblendd(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned imm = imm8_of(in, 3), len = sw_vex_len(in);
	union sw_yvec a, b, r = { 0 };

	avx2_enter(cpu, in);
	sw_avx_read(cpu, in, 2, &b);
	sw_avx_read(cpu, in, 1, &a);
	for (unsigned i = 0; i < len / 4; i++)
		r.d[i] = (imm & (1u << i)) ? b.d[i] : a.d[i];
	sw_avx_write(cpu, in, 0, &r);
}

/* Top bit of element @i of @esize bytes. */
static bool elem_msb(const union sw_yvec *v, unsigned i, unsigned esize)
{
	return v->b[(i + 1) * esize - 1] & 0x80;
}

/* An offset cut to the instruction's address size, as sw_op_ea() cuts it. */
static uint64_t addr_cut(const struct sw_insn *in, uint64_t off)
{
	switch (in->zi.address_width) {
	case 16:
		return off & 0xffff;
	case 32:
		return (uint32_t)off;
	default:
		return off;
	}
}

/*
 * VPMASKMOVD/Q. Load: op0 = the elements of m (op2) op1 selects, zero
 * elsewhere. Store: the elements of op2 that op1 selects to m (op0);
 * the others are left alone and not even checked.
 */
static void avx2_pmaskmov(struct sw_cpu *cpu, const struct sw_insn *in)
{
	unsigned esize = in->zi.mnemonic == ZYDIS_MNEMONIC_VPMASKMOVQ ? 8 : 4;
	unsigned n = sw_vex_len(in) / esize;
	union sw_yvec m, v;

	avx2_enter(cpu, in);
	sw_avx_read(cpu, in, 1, &m);
	if (sw_op_is_mem(in, 2)) {
		enum x86_sreg seg = sw_op_seg(in, 2);
		uint64_t ea = sw_op_ea(cpu, in, 2);

		memset(&v, 0, sizeof(v));
		for (unsigned i = 0; i < n; i++) {
			uint64_t x, off = addr_cut(in, ea + (uint64_t)i * esize);

			if (!elem_msb(&m, i, esize))
				continue;
			x = sw_read(cpu, seg, off, esize);
			memcpy(v.b + i * esize, &x, esize);
		}
		sw_avx_write(cpu, in, 0, &v);
	} else if (sw_op_is_mem(in, 0)) {
		enum x86_sreg seg = sw_op_seg(in, 0);
		uint64_t ea = sw_op_ea(cpu, in, 0), la[8];

		sw_avx_read(cpu, in, 2, &v);
		for (unsigned i = 0; i < n; i++) {
			uint64_t off = addr_cut(in, ea + (uint64_t)i * esize);

			if (!elem_msb(&m, i, esize))
				continue;
			la[i] = sw_seg_linear(cpu, seg, off, esize, SW_ACC_WRITE);
			sw_probe_write_lin(cpu, la[i], esize, SW_ACC_WRITE);
		}
		for (unsigned i = 0; i < n; i++) {
			uint64_t x = 0;

			if (!elem_msb(&m, i, esize))
				continue;
			memcpy(&x, v.b + i * esize, esize);
			sw_write_lin(cpu, la[i], x, esize, SW_ACC_WRITE);
		}
	} else {
		sw_ud(cpu);
	}
}

/* ---- gathers ---- */

/*
 * VSIB: the address of element @i of a vector-indexed memory operand @op,
 * @index holding the index register's value with elements of @isize
 * bytes (signed). base + index[i] * scale + disp, cut to the address size.
 */
static uint64_t avx2_vsib_ea(struct sw_cpu *cpu, const struct sw_insn *in, unsigned op,
			     const union sw_yvec *index, unsigned i, unsigned isize)
{
	const struct sw_op_mem *m = &in->op[op].mem;
	uint64_t ea = (uint64_t)m->disp.value;
	int64_t x = isize == 4 ? (int64_t)index->sd[i] : index->sq[i];

	if (m->base != ZYDIS_REGISTER_NONE)
		ea += sw_reg_read(cpu, m->base);
	ea += (uint64_t)x * (m->scale ? m->scale : 1);
	return addr_cut(in, ea);
}

static unsigned vreg_num(ZydisRegister r)
{
	if (sw_fpu_is_ymm(r))
		return (r - ZYDIS_REGISTER_YMM0) & 15;
	return (r - ZYDIS_REGISTER_XMM0) & 15;
}

static bool is_vreg(ZydisRegister r)
{
	return sw_fpu_is_ymm(r) || sw_fpu_is_xmm(r);
}

/*
 * VPGATHERDD/DQ/QD/QQ, VGATHERDPS/DPD/QPS/QPD: op0 the destination,
 * op1 the VSIB memory operand, op2 the mask (elements of the data size).
 * #UD when any two of destination, index and mask are one register.
 */
static void avx2_gather(struct sw_cpu *cpu, const struct sw_insn *in)
{
	ZydisMnemonic mn = in->zi.mnemonic;
	bool qidx = mn == ZYDIS_MNEMONIC_VPGATHERQD || mn == ZYDIS_MNEMONIC_VPGATHERQQ ||
		    mn == ZYDIS_MNEMONIC_VGATHERQPS || mn == ZYDIS_MNEMONIC_VGATHERQPD;
	unsigned isize = qidx ? 8 : 4, dsize = in->op[1].size / 8;
	unsigned n = sw_vex_len(in) / (isize > dsize ? isize : dsize);
	unsigned rd, ri, rm;
	union sw_yvec d, m, idx;
	enum x86_sreg seg;

	/* Encoding checks (#UD), before CR0.TS (#NM) as the other #UD conditions. */
	if (!sw_op_is_mem(in, 1) || !is_vreg(in->op[1].mem.index) || !sw_op_is_reg(in, 0) ||
	    !sw_op_is_reg(in, 2) || (dsize != 4 && dsize != 8))
		sw_ud(cpu);
	rd = sw_vreg_index(in, 0);
	rm = sw_vreg_index(in, 2);
	ri = vreg_num(in->op[1].mem.index);
	if (rd == rm || rd == ri || rm == ri)
		sw_ud(cpu);
	avx2_enter(cpu, in);
	seg = sw_op_seg(in, 1);
	sw_ymm_get(cpu, rd, &d);
	sw_ymm_get(cpu, rm, &m);
	sw_ymm_get(cpu, ri, &idx);
	/* What lies above the n elements is zero (VEX); the index is not written. */
	memset(d.b + n * dsize, 0, 32 - n * dsize);
	memset(m.b + n * dsize, 0, 32 - n * dsize);
	for (unsigned i = 0; i < n; i++) {
		uint64_t x;

		if (!elem_msb(&m, i, dsize))
			continue;
		/* May fault: the registers hold the elements gathered so far. */
		x = sw_read(cpu, seg, avx2_vsib_ea(cpu, in, 1, &idx, i, isize), dsize);
		memcpy(d.b + i * dsize, &x, dsize);
		memset(m.b + i * dsize, 0, dsize);
		sw_ymm_set(cpu, rd, &d);
		sw_ymm_set(cpu, rm, &m);
	}
	memset(&m, 0, sizeof(m));
	sw_ymm_set(cpu, rd, &d);
	sw_ymm_set(cpu, rm, &m);
}

void sw_register_avx2(void)
{
	static const ZydisMnemonic gathers[] = {
		ZYDIS_MNEMONIC_VPGATHERDD, ZYDIS_MNEMONIC_VPGATHERDQ, ZYDIS_MNEMONIC_VPGATHERQD,
		ZYDIS_MNEMONIC_VPGATHERQQ, ZYDIS_MNEMONIC_VGATHERDPS, ZYDIS_MNEMONIC_VGATHERDPD,
		ZYDIS_MNEMONIC_VGATHERQPS, ZYDIS_MNEMONIC_VGATHERQPD,
	};

	sw_handlers[ZYDIS_MNEMONIC_VPBROADCASTB] = avx2_pbroadcast;
	sw_handlers[ZYDIS_MNEMONIC_VPBROADCASTW] = avx2_pbroadcast;
	sw_handlers[ZYDIS_MNEMONIC_VPBROADCASTD] = avx2_pbroadcast;
	sw_handlers[ZYDIS_MNEMONIC_VPBROADCASTQ] = avx2_pbroadcast;
	sw_handlers[ZYDIS_MNEMONIC_VBROADCASTI128] = avx2_broadcasti128;
	sw_handlers[ZYDIS_MNEMONIC_VINSERTI128] = avx2_inserti128;
	sw_handlers[ZYDIS_MNEMONIC_VEXTRACTI128] = avx2_extracti128;
	sw_handlers[ZYDIS_MNEMONIC_VPERM2I128] = avx2_perm2i128;
	sw_handlers[ZYDIS_MNEMONIC_VPERMD] = avx2_permd;
	sw_handlers[ZYDIS_MNEMONIC_VPERMQ] = avx2_permq;
	sw_handlers[ZYDIS_MNEMONIC_VPBLENDD] = avx2_pblendd;
	sw_handlers[ZYDIS_MNEMONIC_VPMASKMOVD] = avx2_pmaskmov;
	sw_handlers[ZYDIS_MNEMONIC_VPMASKMOVQ] = avx2_pmaskmov;
	for (unsigned i = 0; i < sizeof(gathers) / sizeof(gathers[0]); i++)
		sw_handlers[gathers[i]] = avx2_gather;
}
