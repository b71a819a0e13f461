// SPDX-License-Identifier: GPL-2.0
/*
 * ppo-run: the oracle's userspace side inside the guest (built static with the host's gcc).
 *
 *   ppo-run [-o OUTPUT] [-w DRAIN_WAIT_MS] SEQUENCE.ops...
 *
 * For each sequence: resets the module, then for each op line writes it to
 * /sys/kernel/debug/pporacle/ctl, reads the module's observation back, takes the netdev
 * netlink family's page-pool dump (raw generic netlink, no library), the new kernel log records
 * (/dev/kmsg) and the new page_pool/DMA tracepoint lines (tracefs trace_pipe), and writes one
 * line "PPORACLE-OBS {json}" per op. Sequences are framed by PPORACLE-SEQ-BEGIN/-END lines.
 * Ops the runner handles itself: advance_time ns=N|Nms|Ns (sleeps; then observes).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#define CTL "/sys/kernel/debug/pporacle/ctl"
#define OBS "/sys/kernel/debug/pporacle/obs"
#define FEATURES "/sys/kernel/debug/pporacle/features"
#define TRACEFS "/sys/kernel/tracing"

/* include/uapi/linux/netdev.h (numbers are ABI; the host's libc headers predate them) */
#define NETDEV_CMD_PAGE_POOL_GET 5
enum { PPA_ID = 1, PPA_IFINDEX, PPA_NAPI_ID, PPA_INFLIGHT, PPA_INFLIGHT_MEM, PPA_DETACH_TIME,
       PPA_DMABUF, PPA_IO_URING };

static int out_fd = 1;
static int drain_wait_ms = 5000;	/* -w: how long a sequence waits for its pools to be freed */
static int nl_fd = -1, nl_family = -1;
static int kmsg_fd = -1, trace_fd = -1;

/* ---- a growing string ---- */
struct sb { char *b; size_t len, cap; };

static void sb_add(struct sb *s, const char *p, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + n + 1)
			cap *= 2;
		s->b = realloc(s->b, cap);
		if (!s->b) { perror("realloc"); exit(70); }
		s->cap = cap;
	}
	memcpy(s->b + s->len, p, n);
	s->len += n;
	s->b[s->len] = 0;
}

static __attribute__((format(printf, 2, 3))) void sb_printf(struct sb *s, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(tmp)) {
		char *big = malloc(n + 1);
		va_start(ap, fmt);
		vsnprintf(big, n + 1, fmt, ap);
		va_end(ap);
		sb_add(s, big, n);
		free(big);
	} else if (n > 0) {
		sb_add(s, tmp, n);
	}
}

static void sb_json_str(struct sb *s, const char *p, size_t n)
{
	size_t i;

	sb_add(s, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', c };
			sb_add(s, e, 2);
		} else if (c < 0x20 || c == 0x7f) {
			sb_printf(s, "\\u%04x", c);
		} else {
			sb_add(s, (char *)&c, 1);
		}
	}
	sb_add(s, "\"", 1);
}

static void emit(struct sb *s)
{
	size_t off = 0;

	sb_add(s, "\n", 1);
	while (off < s->len) {
		ssize_t w = write(out_fd, s->b + off, s->len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			perror("write output");
			exit(70);
		}
		off += w;
	}
	s->len = 0;
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double uptime_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- files ---- */
static char *read_file(const char *path, size_t *len)
{
	struct sb s = { 0 };
	char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t r;

	if (fd < 0)
		return NULL;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		sb_add(&s, buf, r);
	close(fd);
	if (!s.b)
		sb_add(&s, "", 0);
	if (len)
		*len = s.len;
	return s.b;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t w;

	if (fd < 0)
		return -errno;
	w = write(fd, text, strlen(text));
	close(fd);
	return w < 0 ? -errno : 0;
}

/* ---- generic netlink: the netdev family's page-pool dump ---- */
static void nl_put_attr(struct nlmsghdr *n, int type, const void *data, int len)
{
	struct nlattr *a = (struct nlattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static uint64_t nl_uint(const struct nlattr *a)
{
	const void *p = (const char *)a + NLA_HDRLEN;
	int l = a->nla_len - NLA_HDRLEN;
	uint64_t v64; uint32_t v32; uint16_t v16;

	if (l == 8) { memcpy(&v64, p, 8); return v64; }
	if (l == 4) { memcpy(&v32, p, 4); return v32; }
	if (l == 2) { memcpy(&v16, p, 2); return v16; }
	if (l == 1) return *(const uint8_t *)p;
	return 0;
}

#define FOR_ATTRS(a, start, rem) \
	for (a = (struct nlattr *)(start); rem >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && \
	     a->nla_len <= rem; rem -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len)))

static int nl_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[8192];
	struct nlmsghdr *n = (struct nlmsghdr *)buf;
	struct genlmsghdr *g;
	int len, fd;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	memset(buf, 0, 256);
	n->nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	n->nlmsg_type = GENL_ID_CTRL;
	n->nlmsg_flags = NLM_F_REQUEST;
	n->nlmsg_seq = 1;
	g = NLMSG_DATA(n);
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	nl_put_attr(n, CTRL_ATTR_FAMILY_NAME, "netdev", 7);
	if (send(fd, n, n->nlmsg_len, 0) < 0 || (len = recv(fd, buf, sizeof(buf), 0)) < 0) {
		close(fd);
		return -1;
	}
	for (n = (struct nlmsghdr *)buf; NLMSG_OK(n, (unsigned)len); n = NLMSG_NEXT(n, len)) {
		struct nlattr *a;
		int rem;

		if (n->nlmsg_type == NLMSG_ERROR)
			break;
		rem = n->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
		FOR_ATTRS(a, (char *)NLMSG_DATA(n) + GENL_HDRLEN, rem)
			if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID) {
				nl_family = nl_uint(a);
				nl_fd = fd;
				return 0;
			}
	}
	close(fd);
	return -1;	/* no netdev family: 6.1 */
}

/* Appends a JSON array of the pools (or null without the family); returns the pool count. */
static int nl_dump(struct sb *s)
{
	static unsigned seq = 100;
	char buf[65536];
	struct nlmsghdr *n = (struct nlmsghdr *)buf;
	struct genlmsghdr *g;
	int count = 0, first = 1;

	if (nl_fd < 0) {
		sb_printf(s, "null");
		return -1;
	}
	memset(buf, 0, 256);
	n->nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	n->nlmsg_type = nl_family;
	n->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	n->nlmsg_seq = ++seq;
	g = NLMSG_DATA(n);
	g->cmd = NETDEV_CMD_PAGE_POOL_GET;
	g->version = 1;
	if (send(nl_fd, n, n->nlmsg_len, 0) < 0) {
		sb_printf(s, "{\"error\":%d}", errno);
		return -1;
	}
	sb_printf(s, "[");
	for (;;) {
		int len = recv(nl_fd, buf, sizeof(buf), 0);

		if (len < 0) {
			sb_printf(s, "%s{\"error\":%d}]", first ? "" : ",", errno);
			return count;
		}
		for (n = (struct nlmsghdr *)buf; NLMSG_OK(n, (unsigned)len); n = NLMSG_NEXT(n, len)) {
			struct nlattr *a;
			int rem, f = 1;

			if (n->nlmsg_seq != seq)
				continue;
			if (n->nlmsg_type == NLMSG_DONE) {
				sb_printf(s, "]");
				return count;
			}
			if (n->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(n);
				sb_printf(s, "%s{\"error\":%d}]", first ? "" : ",", e->error);
				return count;
			}
			sb_printf(s, "%s{", first ? "" : ",");
			first = 0;
			rem = n->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
			FOR_ATTRS(a, (char *)NLMSG_DATA(n) + GENL_HDRLEN, rem) {
				static const char *names[] = { NULL, "id", "ifindex", "napi_id", "inflight",
					"inflight_mem", "detach_time", "dmabuf", "io_uring" };
				int t = a->nla_type & NLA_TYPE_MASK;

				if (t >= PPA_ID && t <= PPA_DMABUF)
					sb_printf(s, "%s\"%s\":%llu", f ? "" : ",", names[t],
						  (unsigned long long)nl_uint(a));
				else
					sb_printf(s, "%s\"attr%d\":\"len %d\"", f ? "" : ",", t, a->nla_len);
				f = 0;
			}
			sb_printf(s, "}");
			count++;
		}
	}
}

/* ---- kernel log and tracepoints ---- */
struct flags { int warn, bug, stalled, bad_page, oops; };

static void scan_flags(struct flags *fl, const char *m)
{
	if (strstr(m, "WARNING:"))
		fl->warn = 1;
	if (strstr(m, "BUG:"))
		fl->bug = 1;
	if (strstr(m, "stalled pool shutdown"))
		fl->stalled = 1;
	if (strstr(m, "Bad page state"))
		fl->bad_page = 1;
	if (strstr(m, "Oops") || strstr(m, "general protection"))
		fl->oops = 1;
}

static void drain_kmsg(struct sb *s, struct flags *fl)
{
	char rec[8192];
	int first = 1;

	sb_printf(s, "[");
	while (kmsg_fd >= 0) {
		ssize_t r = read(kmsg_fd, rec, sizeof(rec) - 1);
		char *semi, *msg, *nl;
		unsigned long long ts = 0;
		int pri = 0;

		if (r < 0) {
			if (errno == EPIPE)
				continue;	/* overwritten records: go on with the next */
			break;		/* EAGAIN: nothing new */
		}
		rec[r] = 0;
		semi = strchr(rec, ';');
		if (!semi)
			continue;
		sscanf(rec, "%d,%*u,%llu", &pri, &ts);
		msg = semi + 1;
		nl = strchr(msg, '\n');	/* continuation "\n KEY=value" lines follow */
		if (nl)
			*nl = 0;
		scan_flags(fl, msg);
		sb_printf(s, "%s{\"t_us\":%llu,\"level\":%d,\"msg\":", first ? "" : ",", ts, pri & 7);
		sb_json_str(s, msg, strlen(msg));
		sb_printf(s, "}");
		first = 0;
	}
	sb_printf(s, "]");
}

/* Pools the kernel has not freed yet, from the trace: page_pool_release (every kernel here)
 * prints "page_pool=PTR inflight=N ..." each time destroy or the release worker tries to free
 * a pool, and the pool is freed when N is 0. So the end of a sequence waits only while one of
 * its pools is still in flight, on every kernel, with or without a netdev (the netlink dump
 * lists only pools with one, and 6.1 has none). */
#define MAX_INFLIGHT 256
static char inflight_ptr[MAX_INFLIGHT][24];
static int ninflight;

static void track_release(const char *line, size_t n)
{
	char buf[256], *p;
	int inflight, i;

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, line, n);
	buf[n] = 0;
	p = strstr(buf, "page_pool_release: page_pool=");
	if (!p)
		return;
	p += strlen("page_pool_release: page_pool=");
	p[strcspn(p, " ")] = 0;
	if (strlen(p) >= sizeof(inflight_ptr[0]))
		return;
	if (sscanf(p + strlen(p) + 1, "inflight=%d", &inflight) != 1)
		return;
	for (i = 0; i < ninflight && strcmp(inflight_ptr[i], p); i++)
		;
	if (inflight == 0 && i < ninflight)
		memmove(inflight_ptr[i], inflight_ptr[i + 1], (--ninflight - i) * sizeof(inflight_ptr[0]));
	else if (inflight != 0 && i == ninflight && ninflight < MAX_INFLIGHT)
		strcpy(inflight_ptr[ninflight++], p);
}

/* Appends the new trace lines as JSON strings, comma-separated after the first (*first). */
static void drain_trace_items(struct sb *s, int *first)
{
	static struct sb pending;	/* a partial line from the last read */
	char buf[65536];

	while (trace_fd >= 0) {
		ssize_t r = read(trace_fd, buf, sizeof(buf));
		char *p, *e;

		if (r <= 0)
			break;
		sb_add(&pending, buf, r);
		p = pending.b;
		while ((e = memchr(p, '\n', pending.b + pending.len - p)) != NULL) {
			char *q = p;

			while (q < e && isspace((unsigned char)*q))
				q++;
			if (q < e) {
				track_release(q, e - q);
				sb_printf(s, "%s", *first ? "" : ",");
				sb_json_str(s, q, e - q);
				*first = 0;
			}
			p = e + 1;
		}
		memmove(pending.b, p, pending.b + pending.len - p);
		pending.len = pending.b + pending.len - p;
	}
}

static void drain_trace(struct sb *s)
{
	int first = 1;

	sb_printf(s, "[");
	drain_trace_items(s, &first);
	sb_printf(s, "]");
}

static void flags_json(struct sb *s, const struct flags *fl)
{
	sb_printf(s, "{\"warn\":%s,\"bug\":%s,\"stalled\":%s,\"bad_page\":%s,\"oops\":%s}",
		  fl->warn ? "true" : "false", fl->bug ? "true" : "false",
		  fl->stalled ? "true" : "false", fl->bad_page ? "true" : "false",
		  fl->oops ? "true" : "false");
}

/* Enables every page_pool event and the DMA map/unmap events this kernel has. */
static void trace_setup(struct sb *feat)
{
	static const char *dma[] = { "dma_map_page", "dma_unmap_page", "dma_map_phys",
				     "dma_unmap_phys", NULL };
	char path[512];
	struct dirent *d;
	DIR *dir;
	int i, first = 1;

	write_file(TRACEFS "/tracing_on", "0");
	write_file(TRACEFS "/buffer_size_kb", "8192");
	write_file(TRACEFS "/trace", "");
	sb_printf(feat, ",\"tracepoints\":[");
	dir = opendir(TRACEFS "/events/page_pool");
	while (dir && (d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.' || strcmp(d->d_name, "enable") == 0 || strcmp(d->d_name, "filter") == 0)
			continue;
		snprintf(path, sizeof(path), TRACEFS "/events/page_pool/%s/enable", d->d_name);
		if (write_file(path, "1") == 0) {
			sb_printf(feat, "%s\"page_pool:%s\"", first ? "" : ",", d->d_name);
			first = 0;
		}
	}
	if (dir)
		closedir(dir);
	for (i = 0; dma[i]; i++) {
		snprintf(path, sizeof(path), TRACEFS "/events/dma/%s/enable", dma[i]);
		if (write_file(path, "1") == 0) {
			sb_printf(feat, "%s\"dma:%s\"", first ? "" : ",", dma[i]);
			first = 0;
		}
	}
	sb_printf(feat, "]");
	write_file(TRACEFS "/tracing_on", "1");
	trace_fd = open(TRACEFS "/trace_pipe", O_RDONLY | O_NONBLOCK);
}

/* ---- ops ---- */
static long long parse_duration_ns(const char *v)
{
	char *end;
	double x = strtod(v, &end);

	if (end == v)
		return -1;
	if (!*end || !strcmp(end, "ns")) return (long long)x;
	if (!strcmp(end, "us")) return (long long)(x * 1e3);
	if (!strcmp(end, "ms")) return (long long)(x * 1e6);
	if (!strcmp(end, "s")) return (long long)(x * 1e9);
	return -1;
}

static void trim(char *l)
{
	char *h = strchr(l, '#');
	size_t n;

	if (h)
		*h = 0;
	n = strlen(l);
	while (n && isspace((unsigned char)l[n - 1]))
		l[--n] = 0;
}

/* Runs one op (or a runner op) and writes its observation line. */
static void run_op(const char *seq, int idx, const char *line, int epilogue)
{
	struct sb s = { 0 };
	struct flags fl = { 0 };
	double t0 = mono_ms(), t1;
	char *obs;
	int rc = 0;

	if (!strncmp(line, "advance_time", 12) && (line[12] == ' ' || !line[12])) {
		const char *v = strstr(line, "ns=");
		long long ns = v ? parse_duration_ns(v + 3) : -1;

		if (ns >= 0) {
			struct timespec ts = { ns / 1000000000LL, ns % 1000000000LL };
			while (nanosleep(&ts, &ts) && errno == EINTR)
				;
			rc = write_file(CTL, "observe");
		} else {
			rc = -22;
		}
	} else {
		rc = write_file(CTL, line);
	}
	t1 = mono_ms();
	obs = read_file(OBS, NULL);
	sb_printf(&s, "PPORACLE-OBS {\"seq\":\"%s\",\"op\":%d,\"line\":", seq, idx);
	sb_json_str(&s, line, strlen(line));
	sb_printf(&s, ",\"epilogue\":%s,\"uptime_s\":%.6f,\"op_ms\":%.3f,\"write_rc\":%d,\"kmod\":",
		  epilogue ? "true" : "false", uptime_s(), t1 - t0, rc);
	if (obs && *obs) {
		size_t n = strlen(obs);
		while (n && (obs[n - 1] == '\n'))
			obs[--n] = 0;
		sb_add(&s, obs, n);
	} else {
		sb_printf(&s, "null");
	}
	free(obs);
	sb_printf(&s, ",\"netlink\":");
	nl_dump(&s);
	sb_printf(&s, ",\"dmesg\":");
	drain_kmsg(&s, &fl);
	sb_printf(&s, ",\"trace\":");
	drain_trace(&s);
	sb_printf(&s, ",\"flags\":");
	flags_json(&s, &fl);
	sb_printf(&s, "}");
	emit(&s);
	free(s.b);
}

static int count_pools(void)
{
	struct sb s = { 0 };
	int n = nl_dump(&s);

	free(s.b);
	return n;
}

static void run_sequence(const char *path)
{
	char name[256], *line = NULL, *dot;
	const char *base = strrchr(path, '/');
	struct sb s = { 0 }, trace = { 0 };
	struct flags fl = { 0 };
	size_t cap = 0;
	double t0 = mono_ms(), drain0, drain_ms;
	int idx = 0, left, baseline = 0, first = 1;
	FILE *f;

	snprintf(name, sizeof(name), "%s", base ? base + 1 : path);
	dot = strrchr(name, '.');
	if (dot)
		*dot = 0;
	f = fopen(path, "r");
	if (!f) {
		sb_printf(&s, "PPORACLE-SEQ-BEGIN %s", name);
		emit(&s);
		sb_printf(&s, "PPORACLE-SEQ-END %s {\"error\":\"cannot open %s\"}", name, path);
		emit(&s);
		return;
	}
	/* leftovers of what ran before belong to nobody; pools that earlier sequences leaked stay
	 * in the dump (and their release worker in the trace): they are this sequence's baseline */
	write_file(CTL, "reset");
	drain_kmsg(&s, &fl);
	drain_trace(&s);
	s.len = 0;
	baseline = trace_fd >= 0 ? ninflight : count_pools();
	sb_printf(&s, "PPORACLE-SEQ-BEGIN %s", name);
	emit(&s);
	while (getline(&line, &cap, f) > 0) {
		trim(line);
		if (!*line || !line[strspn(line, " \t")])
			continue;
		run_op(name, idx++, line + strspn(line, " \t"), 0);
	}
	fclose(f);
	free(line);
	/* give everything back; wait (up to -w, 5 s) until the pools it made are freed: those still
	 * in flight by the trace, or without tracefs those left in the netlink dump (6.1: 1.2 s,
	 * the release worker runs every second). With -w 0 the next sequence starts at once and
	 * this one's pools in flight are its baseline (their release lines in its traces). */
	run_op(name, idx, "reset", 1);
	drain0 = mono_ms();
	if (trace_fd >= 0) {
		while (ninflight > baseline && mono_ms() - drain0 < drain_wait_ms) {
			usleep(20000);
			drain_trace_items(&trace, &first);
		}
		left = ninflight - baseline;
	} else {
		left = count_pools();
		while (left > baseline && mono_ms() - drain0 < drain_wait_ms) {
			usleep(100000);
			left = count_pools();
		}
		if (left >= 0)
			left -= baseline;	/* pools this sequence leaked */
		else if (drain_wait_ms > 0)
			usleep(1200000);	/* no dump on this kernel */
	}
	drain_ms = mono_ms() - drain0;
	memset(&fl, 0, sizeof(fl));
	sb_printf(&s, "PPORACLE-SEQ-END %s {\"ops\":%d,\"seq_ms\":%.1f,\"drain_ms\":%.1f,\"pools_left\":%d,"
		  "\"pools_before\":%d,\"dmesg\":", name, idx, mono_ms() - t0, drain_ms, left, baseline);
	drain_kmsg(&s, &fl);
	sb_printf(&s, ",\"trace\":[");
	drain_trace_items(&trace, &first);
	sb_add(&s, trace.b ? trace.b : "", trace.len);
	free(trace.b);
	sb_printf(&s, "],\"flags\":");
	flags_json(&s, &fl);
	sb_printf(&s, "}");
	emit(&s);
	free(s.b);
}

int main(int argc, char **argv)
{
	struct sb s = { 0 };
	struct utsname u;
	char *feat;
	int i = 1;

	if (argc > i + 1 && !strcmp(argv[i], "-o")) {
		out_fd = open(argv[i + 1], O_WRONLY | O_NOCTTY);
		if (out_fd < 0) {
			perror(argv[i + 1]);
			out_fd = 1;
		} else if (isatty(out_fd)) {
			struct termios t;

			if (tcgetattr(out_fd, &t) == 0) {
				cfmakeraw(&t);
				cfsetospeed(&t, B115200);
				tcsetattr(out_fd, TCSANOW, &t);
			}
		}
		i += 2;
	}
	if (argc > i + 1 && !strcmp(argv[i], "-w")) {
		drain_wait_ms = atoi(argv[i + 1]);
		i += 2;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: ppo-run [-o OUTPUT] [-w DRAIN_WAIT_MS] SEQUENCE.ops...\n");
		return 64;
	}
	uname(&u);
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (kmsg_fd >= 0)
		lseek(kmsg_fd, 0, SEEK_END);
	feat = read_file(FEATURES, NULL);
	sb_printf(&s, "PPORACLE-FEATURES {\"uname\":\"%s\",\"module\":", u.release);
	if (feat && *feat) {
		size_t n = strlen(feat);
		while (n && feat[n - 1] == '\n')
			feat[--n] = 0;
		sb_add(&s, feat, n);
	} else {
		sb_printf(&s, "null");
	}
	free(feat);
	sb_printf(&s, ",\"netlink_netdev_family\":%s", nl_open() == 0 ? "true" : "false");
	trace_setup(&s);
	sb_printf(&s, "}");
	emit(&s);
	for (; i < argc; i++)
		run_sequence(argv[i]);
	return 0;
}
