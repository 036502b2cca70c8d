/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_SW_FALLBACK_H
#define TANDEM_SW_FALLBACK_H
/* The software CPU's accel_ops.emulate / emulate_cleanup (fallback.c). */
#include "accel/accel.h"

enum vcpu_stop sw_emulate(struct vcpu *vcpu, struct x86_state *st, struct accel_emulate *req,
			  char *why, size_t len);
void sw_emulate_cleanup(struct vm *vm);
void sw_emulate_mem_written(struct vm *vm, uint64_t gpa, uint64_t len);

#endif
