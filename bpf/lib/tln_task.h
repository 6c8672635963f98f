/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* tln_task.h: facts about the current task that need struct task_struct. */
#ifndef TLN_TASK_H
#define TLN_TASK_H

#include "tln_common.h"

/* the process's pid as its own pid namespace sees it (isNamespacePID) */
static __always_inline __u32 tln_ns_pid(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct pid *p = BPF_CORE_READ(task, group_leader, thread_pid);
	struct upid up = {};
	unsigned int level;

	if (!p)
		return 0;
	level = BPF_CORE_READ(p, level);
	bpf_probe_read_kernel(&up, sizeof(up), &p->numbers[level & 31]);
	return up.nr;
}

#endif /* TLN_TASK_H */
