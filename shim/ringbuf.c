// SPDX-License-Identifier: Apache-2.0
/* tln_shim: the ring buffer, consumed on a worker thread and handed to JS in batches (see module.c for the JS API) */
#include "shim.h"

/* ---- ring buffer on a worker thread --------------------------------------- */

/* a batch: the records back to back in one buffer, ends[i] the end of record i */
struct rec_batch {
	size_t n, cap, used, bytes;
	uint8_t *data;
	uint32_t *ends;
};

struct rb_consumer {
	struct ring_buffer *rb;
	napi_threadsafe_function tsfn;
	pthread_t thread;
	atomic_int stop;
	/* a batch handed over and not yet done by the JS thread: at most one at a time, so
	 * that the JS thread returns to its event loop (socket writes, API calls) between
	 * batches; meanwhile records wait in the kernel's ring buffer, which counts what it
	 * has no room for */
	atomic_int inflight;
	struct rec_batch *cur;
	int used;
};

static struct rb_consumer rbs[TLN_MAX_RBS];

/* records per batch before it is handed over without waiting for the end of the poll */
#define TLN_BATCH_RECORDS 256

static void batch_free(struct rec_batch *b)
{
	if (!b)
		return;
	free(b->data);
	free(b->ends);
	free(b);
}

/* hand a batch to the JS thread once it is done with the last one, never blocking
 * inside node-api: a blocking call could wait forever on a full queue while the JS
 * thread waits in rb_stop() for this thread to end */
static void rb_hand_over(struct rb_consumer *c, struct rec_batch *b)
{
	napi_status st;

	while (atomic_load(&c->inflight) && !atomic_load(&c->stop))
		usleep(100);
	atomic_store(&c->inflight, 1);
	for (;;) {
		st = napi_call_threadsafe_function(c->tsfn, b, napi_tsfn_nonblocking);
		if (st == napi_ok)
			return;
		if (st != napi_queue_full || atomic_load(&c->stop))
			break;
		usleep(1000);
	}
	atomic_store(&c->inflight, 0);
	batch_free(b);
}

/* one record appended to the current batch: no allocation per record (the
 * buffers grow by doubling) */
static int rb_sample(void *ctx, void *data, size_t size)
{
	struct rb_consumer *c = ctx;
	struct rec_batch *b = c->cur;

	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return 0;
		/* small first (a poll often brings a few records), below malloc's mmap threshold */
		b->cap = 64;
		b->bytes = 16 << 10;
		b->ends = malloc(b->cap * sizeof(uint32_t));
		b->data = malloc(b->bytes);
		if (!b->ends || !b->data) {
			batch_free(b);
			return 0;
		}
		c->cur = b;
	}
	if (b->n == b->cap) {
		uint32_t *ne = realloc(b->ends, 2 * b->cap * sizeof(uint32_t));

		if (!ne)
			return 0;
		b->ends = ne;
		b->cap *= 2;
	}
	if (b->used + size > b->bytes) {
		size_t nb = b->bytes * 2;
		uint8_t *nd;

		while (b->used + size > nb)
			nb *= 2;
		nd = realloc(b->data, nb);
		if (!nd)
			return 0;
		b->data = nd;
		b->bytes = nb;
	}
	memcpy(b->data + b->used, data, size);
	b->used += size;
	b->ends[b->n++] = (uint32_t)b->used;
	if (b->n >= TLN_BATCH_RECORDS) {
		c->cur = NULL;
		rb_hand_over(c, b);
	}
	return 0;
}

static void *rb_thread(void *arg)
{
	struct rb_consumer *c = arg;
	int n;

	while (!atomic_load(&c->stop)) {
		/* records waiting for the JS thread: look again soon */
		n = ring_buffer__poll(c->rb, c->cur ? 1 : 100);
		if (n < 0 && n != -EINTR)
			break;
		if (c->cur && !atomic_load(&c->inflight)) {
			struct rec_batch *b = c->cur;
			c->cur = NULL;
			rb_hand_over(c, b);
		}
	}
	return NULL;
}

/* on the JS thread: the batch as one Buffer and the records' ends (a
 * Uint32Array), then the callback: two allocations per batch, not per record */
static void rb_call_js(napi_env env, napi_value cb, void *context, void *data)
{
	struct rec_batch *b = data;
	napi_value argv[2], ab, undef;
	void *dst;

	if (env && cb && b) {
		napi_create_buffer_copy(env, b->used, b->data, NULL, &argv[0]);
		napi_create_arraybuffer(env, b->n * sizeof(uint32_t), &dst, &ab);
		memcpy(dst, b->ends, b->n * sizeof(uint32_t));
		napi_create_typedarray(env, napi_uint32_array, b->n, ab, 0, &argv[1]);
		napi_get_undefined(env, &undef);
		napi_call_function(env, undef, cb, 2, argv, NULL);
	}
	batch_free(b);
	if (context)
		atomic_store(&((struct rb_consumer *)context)->inflight, 0);
}

napi_value js_ringbuf_open(napi_env env, napi_callback_info info)
{
	napi_value argv[2], name;
	struct rb_consumer *c = NULL;
	int32_t fd;
	int id;

	if (get_args(env, info, 2, argv) || get_i32(env, argv[0], &fd)) {
		napi_throw_type_error(env, NULL, "ringbufOpen(fd, cb)");
		return NULL;
	}
	for (id = 1; id < TLN_MAX_RBS; id++)
		if (!rbs[id].used) {
			c = &rbs[id];
			break;
		}
	if (!c) {
		throw_err(env, EMFILE, NULL, "ringbufOpen: too many consumers");
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->rb = ring_buffer__new(fd, rb_sample, c, NULL);
	if (!c->rb) {
		throw_err(env, errno, NULL, "ring_buffer__new (fd %d)", fd);
		return NULL;
	}
	napi_create_string_utf8(env, "tln_ringbuf", NAPI_AUTO_LENGTH, &name);
	if (napi_create_threadsafe_function(env, argv[1], NULL, name, 64, 1, NULL, NULL, c,
					    rb_call_js, &c->tsfn) != napi_ok) {
		ring_buffer__free(c->rb);
		throw_err(env, EINVAL, NULL, "ringbufOpen: threadsafe function");
		return NULL;
	}
	/* the consumer does not keep the event loop alive by itself */
	napi_unref_threadsafe_function(env, c->tsfn);
	atomic_store(&c->stop, 0);
	atomic_store(&c->inflight, 0);
	if (pthread_create(&c->thread, NULL, rb_thread, c)) {
		napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort);
		ring_buffer__free(c->rb);
		throw_err(env, errno, NULL, "ringbufOpen: thread");
		return NULL;
	}
	c->used = 1;
	return mk_i32(env, id);
}

static void rb_stop(struct rb_consumer *c)
{
	if (!c->used)
		return;
	atomic_store(&c->stop, 1);
	pthread_join(c->thread, NULL);
	ring_buffer__free(c->rb);
	napi_release_threadsafe_function(c->tsfn, napi_tsfn_release);
	batch_free(c->cur);
	c->cur = NULL;
	c->used = 0;
}

napi_value js_ringbuf_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	int32_t id;

	if (get_args(env, info, 1, argv) || get_i32(env, argv[0], &id))
		return NULL;
	if (id > 0 && id < TLN_MAX_RBS)
		rb_stop(&rbs[id]);
	return NULL;
}

/* the process is going away: stop consumer threads cleanly */
void rb_stop_all(void)
{
	for (int i = 1; i < TLN_MAX_RBS; i++)
		if (rbs[i].used) {
			atomic_store(&rbs[i].stop, 1);
			pthread_join(rbs[i].thread, NULL);
			ring_buffer__free(rbs[i].rb);
			rbs[i].used = 0;
		}
}
