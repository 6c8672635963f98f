/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * tln_usdt.h: the one source of truth for how a USDT probe's arguments are
 * read. The host (src/kernel/usdt.ts) parses each argument spec of the
 * probe's ELF note (.note.stapsdt, e.g. "-4@%edi", "8@-8(%rbp)", "4@$5",
 * "-1@-96(%rbp,%rax,8)") into a struct tln_usdt_arg; tln_generic.bpf.c reads
 * the value the same way from the uprobe's registers and the task's memory.
 * Same rules as tln_abi.h; scripts/gen-abi.mjs mirrors it.
 */
#ifndef TLN_USDT_H
#define TLN_USDT_H

#ifdef __BPF__
#else
#include <linux/types.h>
#endif

/* tln_gen_arg.src of an argument read by struct tln_usdt_arg (tln_usdt.args at the
 * same position); kept apart from enum tln_src's small values */
#define TLN_SRC_USDT 40

enum tln_usdt_kind {
	TLN_USDT_NONE = 0,  /* not read: the value is absent */
	TLN_USDT_CONST = 1, /* "4@$5": the value is val_off */
	TLN_USDT_REG = 2,   /* "-4@%edi": the register at reg_off */
	TLN_USDT_DEREF = 3, /* "8@-8(%rbp)": memory at register reg_off + val_off */
	TLN_USDT_SIB = 4,   /* "-1@-96(%rbp,%rax,8)": memory at reg_off + (idx_off << scale) + val_off */
};

/* offsetof(struct pt_regs, X) on x86-64 (the UAPI layout; tln_generic.bpf.c
 * checks them against vmlinux.h at build time) */
#define TLN_PTREGS_R15 0
#define TLN_PTREGS_R14 8
#define TLN_PTREGS_R13 16
#define TLN_PTREGS_R12 24
#define TLN_PTREGS_BP 32
#define TLN_PTREGS_BX 40
#define TLN_PTREGS_R11 48
#define TLN_PTREGS_R10 56
#define TLN_PTREGS_R9 64
#define TLN_PTREGS_R8 72
#define TLN_PTREGS_AX 80
#define TLN_PTREGS_CX 88
#define TLN_PTREGS_DX 96
#define TLN_PTREGS_SI 104
#define TLN_PTREGS_DI 112
#define TLN_PTREGS_IP 128
#define TLN_PTREGS_SP 152
#define TLN_PTREGS_SIZE 168 /* sizeof(struct pt_regs) */

struct tln_usdt_arg {
	__u8 kind;        /* enum tln_usdt_kind */
	__u8 size;        /* bytes of the value: 1, 2, 4 or 8 */
	__u8 is_signed;   /* a negative size in the spec: sign-extend */
	__u8 scale;       /* TLN_USDT_SIB: log2 of the index's scale (0-3) */
	__u16 reg_off;    /* offsetof(struct pt_regs, base register) */
	__u16 idx_off;    /* TLN_USDT_SIB: offsetof(struct pt_regs, index register) */
	__u64 val_off;    /* CONST: the value; DEREF, SIB: the displacement (two's complement) */
};                        /* 16 bytes */

/* the const volatile tln_usdt of a generic instance: per position of the hook's args[] */
struct tln_usdt_conf {
	struct tln_usdt_arg args[5]; /* TLN_MAX_ARGS */
};                        /* 80 bytes */

#endif
