/* Test helper for test/bridge-truth.test.ts: loads BPF objects into the
 * running kernel with the system libbpf (root) and prints, per object, the
 * instructions libbpf handed to the kernel for each program, and each map's
 * fd and name (so map fds in ld_imm64 can be normalised). One line each:
 *   object <path> ok|<errno>
 *   map <fd> <name>
 *   prog <name> <hex of the instructions>
 * Everything is closed again before the next object. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

int main(int argc, char **argv)
{
	libbpf_set_print(quiet);
	for (int i = 1; i < argc; i++) {
		struct bpf_object *obj = bpf_object__open_file(argv[i], NULL);
		struct bpf_program *prog;
		struct bpf_map *map;
		int err;

		if (!obj) {
			printf("object %s %d\n", argv[i], errno);
			continue;
		}
		err = bpf_object__load(obj);
		if (err) {
			printf("object %s %d\n", argv[i], -err);
			bpf_object__close(obj);
			continue;
		}
		printf("object %s ok\n", argv[i]);
		bpf_object__for_each_map(map, obj)
			printf("map %d %s\n", bpf_map__fd(map), bpf_map__name(map));
		bpf_object__for_each_program(prog, obj) {
			const unsigned char *p = (const unsigned char *)bpf_program__insns(prog);
			size_t n = bpf_program__insn_cnt(prog) * 8;

			printf("prog %s ", bpf_program__name(prog));
			for (size_t j = 0; j < n; j++)
				printf("%02x", p[j]);
			printf("\n");
		}
		bpf_object__close(obj);
	}
	return 0;
}
