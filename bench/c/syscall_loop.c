// syscall_loop: times one syscall pattern in a tight loop and prints ns/op.
//
//   syscall_loop OP N FILE [CGROUP_DIR]
//
// OP: getppid  syscall(SYS_getppid), the cheapest syscall (no file hook runs)
//     pread    pread(fd, 64 B) of FILE opened once (a read hook runs every time)
//     orc      open + read 64 B + close of FILE (openat, read and close hooks)
//     connect  socket + connect to a refusing 127.0.0.1 port + close (FILE unused)
//     lseek    lseek(fd, 0, SEEK_SET) of FILE opened once (a syscall hook on lseek runs)
//     probe    open + read of FILE once, no timing (is an enforcing rule live?)
//     lseekbad lseek(-1, 0, SEEK_SET) once, no timing (is a rule on lseek(-1) live?)
// CGROUP_DIR: joins that cgroup v2 directory before the loop (the bench pod).
// The N iterations are timed in CHUNKS chunks, so that a chunk disturbed by
// another process (a preemption, a page fault storm) can be told apart.
// Output, one line: "OP N MEDIAN MIN MEAN", ns per call: the median chunk, the
// fastest chunk, and the whole run. Exit 0, or 2 with a message on stderr.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CHUNKS 20

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
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

/* a bound, not listening TCP port on 127.0.0.1: connects to it are refused at once */
static struct sockaddr_in refusing_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) || getsockname(s, (struct sockaddr *)&a, &len))
		die("bind 127.0.0.1");
	return a; /* s stays bound for the process's life */
}

static void loop_connect(long n)
{
	static struct sockaddr_in a;
	static int have;

	if (!have) {
		a = refusing_port();
		have = 1;
	}
	for (long i = 0; i < n; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0)
			die("socket");
		if (connect(s, (struct sockaddr *)&a, sizeof a) == 0 || errno != ECONNREFUSED)
			die("connect to a refusing port");
		close(s);
	}
}

static void loop_lseek(long n, int fd)
{
	for (long i = 0; i < n; i++)
		if (lseek(fd, 0, SEEK_SET) < 0)
			die("lseek");
}

static void run(const char *op, long n, const char *file, int fd)
{
	if (!strcmp(op, "lseek"))
		loop_lseek(n, fd);
	else if (!strcmp(op, "getppid"))
		loop_getppid(n);
	else if (!strcmp(op, "pread"))
		loop_pread(n, fd);
	else if (!strcmp(op, "connect"))
		loop_connect(n);
	else
		loop_orc(n, file);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s getppid|pread|orc|connect|lseek|probe|lseekbad N FILE [CGROUP_DIR]\n", argv[0]);
		return 2;
	}
	const char *op = argv[1], *file = argv[3];
	long n = atol(argv[2]);
	if (strcmp(op, "getppid") && strcmp(op, "pread") && strcmp(op, "orc") && strcmp(op, "probe") &&
	    strcmp(op, "connect") && strcmp(op, "lseek") && strcmp(op, "lseekbad")) {
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

	// lseekbad: one lseek of fd -1 (EBADF), a live rule on it kills us here
	if (!strcmp(op, "lseekbad")) {
		if (lseek(-1, 0, SEEK_SET) == 0)
			return 2;
		printf("lseekbad 1 0\n");
		return 0;
	}

	int fd = -1;
	if ((!strcmp(op, "pread") || !strcmp(op, "lseek")) && (fd = open(file, O_RDONLY)) < 0)
		die(file);

	// warm up caches and the dentry, then time chunk by chunk
	long per = n / CHUNKS > 0 ? n / CHUNKS : 1;
	double chunk[CHUNKS], total = 0;
	run(op, per, file, fd);
	for (int c = 0; c < CHUNKS; c++) {
		double t0 = now_ns();
		run(op, per, file, fd);
		chunk[c] = (now_ns() - t0) / (double)per;
		total += chunk[c];
	}
	qsort(chunk, CHUNKS, sizeof chunk[0], cmp_double);
	double median = (chunk[CHUNKS / 2 - 1] + chunk[CHUNKS / 2]) / 2;
	printf("%s %ld %.1f %.1f %.1f\n", op, per * CHUNKS, median, chunk[0], total / CHUNKS);
	return 0;
}
