// syscall_loop: times one syscall pattern in a tight loop and prints ns/op.
//
//   syscall_loop OP N FILE [CGROUP_DIR]
//
// OP: getppid  syscall(SYS_getppid), the cheapest syscall (no file hook runs)
//     pread    pread(fd, 64 B) of FILE opened once (a read hook runs every time)
//     orc      open + read 64 B + close of FILE (openat, read and close hooks)
//     probe    open + read of FILE once, no timing (is an enforcing rule live?)
// CGROUP_DIR: joins that cgroup v2 directory before the loop (the bench pod).
// Output, one line: "OP N NS_PER_OP". Exit 0, or 2 with a message on stderr.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

// join the cgroup: "0" written to cgroup.procs moves the writer
static void join_cgroup(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		die(path);
	if (write(fd, "0\n", 2) != 2)
		die(path);
	close(fd);
}

static void loop_getppid(long n)
{
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
}

static void loop_pread(long n, int fd)
{
	char buf[64];
	for (long i = 0; i < n; i++)
		if (pread(fd, buf, sizeof buf, 0) < 0)
			die("pread");
}

static void loop_orc(long n, const char *file)
{
	char buf[64];
	for (long i = 0; i < n; i++) {
		int fd = open(file, O_RDONLY);
		if (fd < 0)
			die(file);
		if (read(fd, buf, sizeof buf) < 0)
			die("read");
		close(fd);
	}
}

static void run(const char *op, long n, const char *file, int fd)
{
	if (!strcmp(op, "getppid"))
		loop_getppid(n);
	else if (!strcmp(op, "pread"))
		loop_pread(n, fd);
	else
		loop_orc(n, file);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s getppid|pread|orc|probe N FILE [CGROUP_DIR]\n", argv[0]);
		return 2;
	}
	const char *op = argv[1], *file = argv[3];
	long n = atol(argv[2]);
	if (strcmp(op, "getppid") && strcmp(op, "pread") && strcmp(op, "orc") && strcmp(op, "probe")) {
		fprintf(stderr, "unknown op %s\n", op);
		return 2;
	}
	if (argc > 4)
		join_cgroup(argv[4]);

	// probe: one open + read, a live Sigkill rule kills us here
	if (!strcmp(op, "probe")) {
		char buf[64];
		int fd = open(file, O_RDONLY);
		if (fd < 0)
			die(file);
		if (read(fd, buf, sizeof buf) < 0)
			die("read");
		printf("probe 1 0\n");
		return 0;
	}

	int fd = -1;
	if (!strcmp(op, "pread") && (fd = open(file, O_RDONLY)) < 0)
		die(file);

	// warm up caches and the dentry, then time
	run(op, n / 10 + 1, file, fd);
	double t0 = now_ns();
	run(op, n, file, fd);
	double t1 = now_ns();
	printf("%s %ld %.1f\n", op, n, (t1 - t0) / (double)n);
	return 0;
}
