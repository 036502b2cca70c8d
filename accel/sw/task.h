/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TANDEM_SW_TASK_H
#define TANDEM_SW_TASK_H
/*
 * Hardware task switches (task.c), outside long mode only: the callers
 * (seg.c's far transfers and IRET, excp.c's IDT delivery) have checked
 * the mode, and for the IDT the gate's type, DPL and presence.
 */
#include <stdbool.h>
#include <stdint.h>

#include "accel/sw/cpu.h"
#include "accel/sw/sys.h"

/* Why a task switch happens: what it does with NT, the link and the busy bits. */
enum sw_task_why { SW_TASK_JMP, SW_TASK_CALL, SW_TASK_IRET, SW_TASK_INT };

/* Far JMP/CALL to the TSS or task gate @d (fetched from @sel). */
void sw_task_far(struct sw_cpu *cpu, uint16_t sel, const struct sw_desc *d, bool is_call);
/* IRET with NT=1: back to the task in the current TSS's link field. */
void sw_task_iret(struct sw_cpu *cpu);
/*
 * An event through the IDT task gate @gate: switch (the old task saves
 * @ret as its EIP), then push @err on the new task's stack if @push_err.
 * @ext is the EXT bit for error codes.
 */
void sw_task_gate_event(struct sw_cpu *cpu, const struct sw_desc *gate, bool push_err,
			uint32_t err, uint64_t ret, uint32_t ext);

#endif
