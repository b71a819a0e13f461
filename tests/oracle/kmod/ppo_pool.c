// SPDX-License-Identifier: GPL-2.0
/*
 * pporacle: page_pool ops on the real API and the module's table of the pages it was handed.
 * A page entry is "owned" while the module holds the pool reference that allocation gave it;
 * extra_refs counts the get_page references it took. The module refuses ops that would make
 * it touch a pool it cannot prove is still allocated (one destroyed and with none of its pages
 * left in the table), since that would crash the oracle rather than observe the kernel.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/dma-mapping.h>
#include <net/xdp.h>
#include "ppo.h"

void ppo_touch_page(int page)
{
	int i;

	for (i = 0; i < ppo.ntouched; i++)
		if (ppo.touched[i] == page)
			return;
	if (ppo.ntouched < PPO_MAX_TOUCH)
		ppo.touched[ppo.ntouched++] = page;
}

void ppo_touch_pool(int pool)
{
	int i;

	for (i = 0; i < ppo.ntouched_pools; i++)
		if (ppo.touched_pools[i] == pool)
			return;
	if (ppo.ntouched_pools <= PPO_MAX_POOLS)
		ppo.touched_pools[ppo.ntouched_pools++] = pool;
}

static void touch_owned_pages(int pool)
{
	int i;

	for (i = 1; i <= ppo.npages; i++)
		if (ppo.pages[i].pool == pool && (ppo.pages[i].owned || ppo.pages[i].extra_refs))
			ppo_touch_page(i);
}

int ppo_ctx_of(struct ppo_args *a, enum ppo_ctx def, enum ppo_ctx *out)
{
	*out = def;
	if (!a->ctx[0])
		return 0;
	if (!strcmp(a->ctx, "process"))
		*out = PPO_CTX_PROCESS;
	else if (!strcmp(a->ctx, "bh") || !strncmp(a->ctx, "softirq", 7))
		*out = PPO_CTX_BH;
	else if (!strcmp(a->ctx, "napi"))
		*out = PPO_CTX_NAPI;
	else {
		ppo_err("@%s: contexts are @process, @bh (or @softirq), @napi", a->ctx);
		return -EINVAL;
	}
	return 0;
}

static int pool_arg(struct ppo_args *a, const char *key, bool required, int *idx)
{
	int err = ppo_arg_index(a, key, ppo.npools, required, idx);

	if (err)
		return err;
	if (*idx && !ppo.pools[*idx].pp) {
		ppo_err("%s: pool %d was not created", key, *idx);
		return -ENOENT;
	}
	return 0;
}

static int page_arg(struct ppo_args *a, const char *key, int *idx)
{
	return ppo_arg_index(a, key, ppo.npages, true, idx);
}

/* A pool may be touched while it is live, or destroyed while the module still owns one of its
 * pages, or an skb it holds references one of its pages not yet released by the pool (an
 * in-flight page keeps a destroyed pool allocated; ppo_skb.c ppo_skbs_hold_pool_page). */
bool ppo_pool_reachable(int pool)
{
	int i;

	if (ppo.pools[pool].state == PPO_POOL_LIVE)
		return true;
	for (i = 1; i <= ppo.npages; i++)
		if (ppo.pages[i].pool == pool && ppo.pages[i].owned)
			return true;
	return ppo_skbs_hold_pool_page(pool);
}

static int dma_dir_arg(struct ppo_args *a, enum dma_data_direction *dir)
{
	const char *v = ppo_arg(a, "dma_dir");
	long n;

	*dir = DMA_FROM_DEVICE;
	if (!v)
		return 0;
	if (!strcasecmp(v, "from_device") || !strcasecmp(v, "DMA_FROM_DEVICE"))
		*dir = DMA_FROM_DEVICE;
	else if (!strcasecmp(v, "bidirectional") || !strcasecmp(v, "DMA_BIDIRECTIONAL"))
		*dir = DMA_BIDIRECTIONAL;
	else if (!strcasecmp(v, "to_device") || !strcasecmp(v, "DMA_TO_DEVICE"))
		*dir = DMA_TO_DEVICE;
	else if (!kstrtol(v, 0, &n) && n >= 0 && n <= 3)
		*dir = n;	/* enum dma_data_direction's own numbers */
	else {
		ppo_err("dma_dir: \"%s\" is not a DMA direction", v);
		return -EINVAL;
	}
	return 0;
}

static bool nid_ok(long nid)
{
	return nid == NUMA_NO_NODE || (nid >= 0 && nid < MAX_NUMNODES && node_online(nid));
}

int ppo_pool_create(struct ppo_args *a)
{
	struct page_pool_params pp = { .nid = NUMA_NO_NODE };
	long flags, order, size, nid, max_len, offset;
	int dev, napi, nd, err, idx;
	const char *netdev_s;
	struct page_pool *pool;
	char unsupported[64] = "";

	if (ppo.npools >= PPO_MAX_POOLS) {
		ppo_err("too many pools (max %d)", PPO_MAX_POOLS);
		return -ENOSPC;
	}
	err = ppo_arg_int(a, "flags", 0, &flags) ?: ppo_arg_int(a, "order", 0, &order) ?:
	      ppo_arg_int(a, "pool_size", 256, &size) ?: ppo_arg_int(a, "nid", NUMA_NO_NODE, &nid) ?:
	      ppo_arg_int(a, "max_len", 0, &max_len) ?: ppo_arg_int(a, "offset", 0, &offset) ?:
	      ppo_arg_index(a, "device", ppo.ndevices, false, &dev) ?:
	      ppo_arg_index(a, "napi", ppo.nnapis, false, &napi) ?: dma_dir_arg(a, &pp.dma_dir);
	if (err)
		return err;
	ppo_arg(a, "strategy");	/* a model-only field: the kernel has one behaviour */
	nd = 0;
	netdev_s = ppo_arg(a, "netdev");
	if (netdev_s && !strcmp(netdev_s, "lo")) {
		nd = -1;
	} else if (netdev_s) {
		err = kstrtoint(netdev_s, 0, &nd);
		if (err || nd < 0 || nd > ppo.nnetdevs) {
			ppo_err("netdev: \"%s\" is not one of this sequence's netdevs (1..%d) or lo",
				netdev_s, ppo.nnetdevs);
			return -ENOENT;
		}
		if (nd && !ppo.netdevs[nd].registered) {
			ppo_err("netdev %d is not registered", nd);
			return -ENODEV;
		}
	}
	if ((flags & PP_FLAG_DMA_MAP) && !dev) {
		ppo_err("flags: PP_FLAG_DMA_MAP needs device= (add_device makes one)");
		return -EINVAL;
	}
	if (!nid_ok(nid)) {
		ppo_err("nid: node %ld is not online (%u online)", nid, num_online_nodes());
		return -EINVAL;
	}
	pp.flags = flags;
	pp.order = order;
	pp.pool_size = size;
	pp.nid = nid;
	pp.max_len = max_len;
	pp.offset = offset;
	pp.dev = dev ? &ppo.devices[dev]->dev : NULL;
	if (napi) {
#if PPO_HAS_PARAM_NAPI
		pp.napi = &ppo.napis[napi]->napi;
#else
		strlcat(unsupported, "\"napi\",", sizeof(unsupported));
#endif
	}
	if (nd) {
#if PPO_HAS_PARAM_NETDEV
		pp.netdev = nd < 0 ? init_net.loopback_dev : ppo.netdevs[nd].dev;
#else
		strlcat(unsupported, "\"netdev\",", sizeof(unsupported));
#endif
	}
	pool = page_pool_create(&pp);
	if (IS_ERR(pool)) {
		ppo_err("page_pool_create: %ld", PTR_ERR(pool));
		return PTR_ERR(pool);
	}
	idx = ++ppo.npools;
	ppo.pools[idx] = (struct ppo_pool){
		.pp = pool, .state = PPO_POOL_LIVE, .napi = napi, .netdev = nd, .device = dev,
		.nid = nid, .flags = flags,
#if PPO_HAS_POOL_ID
		.id = pool->user.id,
#endif
	};
	if (unsupported[0])
		unsupported[strlen(unsupported) - 1] = 0;
	ppo_result("\"pool\":%d,\"id\":%u,\"unsupported\":[%s]", idx, ppo.pools[idx].id, unsupported);
	ppo_touch_pool(idx);
	return 0;
}

int ppo_pool_destroy(struct ppo_args *a)
{
	int idx, err = pool_arg(a, "pool", true, &idx);

	if (err)
		return err;
	if (ppo.pools[idx].state != PPO_POOL_LIVE) {
		ppo_err("pool %d is already destroyed", idx);
		return -EALREADY;
	}
	page_pool_destroy(ppo.pools[idx].pp);
	ppo.pools[idx].state = PPO_POOL_DESTROYED;
	ppo_touch_pool(idx);
	touch_owned_pages(idx);
	return 0;
}

struct alloc_job {
	int pool;
	long count;
	int got;
};

static int do_alloc(void *arg)
{
	struct alloc_job *j = arg;
	struct page_pool *pool = ppo.pools[j->pool].pp;

	for (j->got = 0; j->got < j->count; j->got++) {
		struct page *p = page_pool_dev_alloc_pages(pool);

		if (!p)
			break;
		ppo.pages[++ppo.npages] = (struct ppo_page){ .page = p, .pool = j->pool, .owned = true };
		ppo_touch_page(ppo.npages);
	}
	return 0;
}

int ppo_pool_alloc(struct ppo_args *a)
{
	struct alloc_job j;
	enum ppo_ctx ctx;
	int first = ppo.npages + 1, err;

	err = pool_arg(a, "pool", true, &j.pool) ?: ppo_arg_int(a, "count", 1, &j.count) ?:
	      ppo_ctx_of(a, PPO_CTX_BH, &ctx);
	if (err)
		return err;
	if (j.count < 1 || ppo.npages + j.count > PPO_MAX_PAGES) {
		ppo_err("count: %ld (the table holds %d pages, %d used)", j.count, PPO_MAX_PAGES, ppo.npages);
		return -EINVAL;
	}
	if (ppo.pools[j.pool].state != PPO_POOL_LIVE) {
		ppo_err("pool %d is destroyed", j.pool);
		return -ESHUTDOWN;
	}
	err = ppo_run_ctx(ctx, ppo.pools[j.pool].napi, do_alloc, &j);
	ppo_result("\"pool\":%d,\"first_page\":%d,\"allocated\":%d", j.pool, first, j.got);
	ppo_touch_pool(j.pool);
	if (!err && j.got < j.count) {
		ppo_err("page_pool_alloc_pages returned NULL after %d pages", j.got);
		return -ENOMEM;
	}
	return err;
}

struct put_job {
	int pool, page;
	long sync;
	bool direct;
};

static int do_put(void *arg)
{
	struct put_job *j = arg;
	struct page_pool *pool = ppo.pools[j->pool].pp;
	struct page *p = ppo.pages[j->page].page;

	if (j->sync < 0)
		page_pool_put_full_page(pool, p, j->direct);
	else
		page_pool_put_page(pool, p, j->sync, j->direct);
	return 0;
}

int ppo_pool_put(struct ppo_args *a)
{
	struct put_job j;
	enum ppo_ctx ctx;
	int err;

	err = page_arg(a, "page", &j.page) ?: pool_arg(a, "pool", false, &j.pool) ?:
	      ppo_arg_int(a, "dma_sync_size", -1, &j.sync) ?:
	      ppo_arg_bool(a, "allow_direct", false, &j.direct) ?: ppo_ctx_of(a, PPO_CTX_PROCESS, &ctx);
	if (err)
		return err;
	if (!ppo.pages[j.page].owned) {
		ppo_err("page %d: the module holds no pool reference to it (returned already)", j.page);
		return -EALREADY;
	}
	if (!j.pool)
		j.pool = ppo.pages[j.page].pool;	/* pool=0: the page's own pool */
	if (!ppo_pool_reachable(j.pool)) {
		ppo_err("pool %d may be freed already", j.pool);
		return -ESHUTDOWN;
	}
	ppo_touch_page(j.page);
	ppo_touch_pool(j.pool);
	ppo_touch_pool(ppo.pages[j.page].pool);
	/* the pool can be freed inside the call (last page of a destroyed pool): keep it off the
	 * table first, the observation reads only reachable pools */
	ppo.pages[j.page].owned = false;
	err = ppo_run_ctx(ctx, ppo.pools[j.pool].napi, do_put, &j);
	if (err)
		ppo.pages[j.page].owned = true;	/* the call did not happen */
	return err;
}

struct bulk_job {
	int pages[64];
	int n;
	int pool;
};

/* The bulk goes to the kernel XDP_BULK_QUEUE_SIZE (16) pages per call, as XDP's own bulk
 * return does (xdp_flush_frame_bulk): page_pool_put_netmem_bulk (>= 6.14) collects a pool's
 * recyclable pages in an array of that size on its stack, and 7.3.4 given 20 pages in one call
 * overran it (UBSAN array-index-out-of-bounds, then the stack protector's panic). Every kernel
 * gets the same calls. */
static int do_bulk(void *arg)
{
	struct bulk_job *j = arg;
	int i, start, n;
#if PPO_HAS_NETMEM_BULK
	netmem_ref data[XDP_BULK_QUEUE_SIZE];
#else
	void *data[XDP_BULK_QUEUE_SIZE];
#endif

	for (start = 0; start < j->n; start += n) {
		n = min(j->n - start, XDP_BULK_QUEUE_SIZE);
#if PPO_HAS_NETMEM_BULK
		for (i = 0; i < n; i++)
			data[i] = page_to_netmem(ppo.pages[j->pages[start + i]].page);
		page_pool_put_netmem_bulk(data, n);
#else
		/* before 6.14 the bulk takes the frames' data addresses and one pool */
		for (i = 0; i < n; i++)
			data[i] = page_address(ppo.pages[j->pages[start + i]].page);
		page_pool_put_page_bulk(ppo.pools[j->pool].pp, data, n);
#endif
	}
	return 0;
}

int ppo_pool_put_bulk(struct ppo_args *a)
{
	struct bulk_job j = { .n = 0 };
	const char *v = ppo_arg(a, "pages");
	char buf[256], *p, *tok;
	enum ppo_ctx ctx;
	int i, err;

	err = ppo_ctx_of(a, PPO_CTX_BH, &ctx);
	if (err)
		return err;
	if (!v) {
		ppo_err("pages: required (a comma-separated list of page indices)");
		return -EINVAL;
	}
	strscpy(buf, v, sizeof(buf));
	p = buf;
	while ((tok = strsep(&p, ",")) != NULL) {
		int idx;

		if (!*tok)
			continue;
		if (j.n >= ARRAY_SIZE(j.pages) || kstrtoint(tok, 0, &idx) || idx < 1 || idx > ppo.npages) {
			ppo_err("pages: \"%s\" is not one of this sequence's pages (at most 64)", tok);
			return -EINVAL;
		}
		if (!ppo.pages[idx].owned) {
			ppo_err("page %d: the module holds no pool reference to it", idx);
			return -EALREADY;
		}
		j.pages[j.n++] = idx;
	}
	if (!j.n) {
		ppo_err("pages: empty");
		return -EINVAL;
	}
	j.pool = ppo.pages[j.pages[0]].pool;
	for (i = 0; i < j.n; i++) {
		if (ppo.pages[j.pages[i]].pool != j.pool && !PPO_HAS_NETMEM_BULK) {
			ppo_err("pages: one bulk mixes pools, which this kernel's API (< 6.14) cannot take");
			return -EOPNOTSUPP;
		}
		ppo_touch_page(j.pages[i]);
		ppo_touch_pool(ppo.pages[j.pages[i]].pool);
	}
	for (i = 0; i < j.n; i++)
		ppo.pages[j.pages[i]].owned = false;
	err = ppo_run_ctx(ctx, ppo.pools[j.pool].napi, do_bulk, &j);
	if (err)
		for (i = 0; i < j.n; i++)
			ppo.pages[j.pages[i]].owned = true;
	return err;
}

struct nid_job {
	int pool;
	long nid;
};

static int do_update_nid(void *arg)
{
	struct nid_job *j = arg;

	page_pool_update_nid(ppo.pools[j->pool].pp, j->nid);
	return 0;
}

int ppo_pool_update_nid(struct ppo_args *a)
{
	struct nid_job j;
	enum ppo_ctx ctx;
	int err;

	err = pool_arg(a, "pool", true, &j.pool) ?: ppo_arg_int(a, "nid", 0, &j.nid) ?:
	      ppo_ctx_of(a, PPO_CTX_BH, &ctx);
	if (err)
		return err;
	if (!nid_ok(j.nid)) {
		ppo_err("nid: node %ld is not online (%u online)", j.nid, num_online_nodes());
		return -EINVAL;
	}
	if (ppo.pools[j.pool].state != PPO_POOL_LIVE) {
		ppo_err("pool %d is destroyed", j.pool);
		return -ESHUTDOWN;
	}
	ppo_touch_pool(j.pool);
	err = ppo_run_ctx(ctx, ppo.pools[j.pool].napi, do_update_nid, &j);
	if (!err)
		ppo.pools[j.pool].nid = j.nid;
	return err;
}

int ppo_pool_disable_direct(struct ppo_args *a)
{
	int idx, err = pool_arg(a, "pool", true, &idx);

	if (err)
		return err;
	if (ppo.pools[idx].state != PPO_POOL_LIVE) {
		ppo_err("pool %d is destroyed", idx);
		return -ESHUTDOWN;
	}
	ppo_touch_pool(idx);
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
	page_pool_disable_direct_recycling(ppo.pools[idx].pp);
	return 0;
#else
	ppo_err("page_pool_disable_direct_recycling is not in this kernel");
	return -EOPNOTSUPP;
#endif
}

int ppo_page_get(struct ppo_args *a)
{
	int idx, err = page_arg(a, "page", &idx);

	if (err)
		return err;
	get_page(ppo.pages[idx].page);
	ppo.pages[idx].extra_refs++;
	ppo_touch_page(idx);
	return 0;
}

int ppo_page_put(struct ppo_args *a)
{
	bool force;
	int idx, err = page_arg(a, "page", &idx) ?: ppo_arg_bool(a, "force", false, &force);

	if (err)
		return err;
	ppo_touch_page(idx);
	if (ppo.pages[idx].extra_refs > 0) {
		ppo.pages[idx].extra_refs--;
	} else if (ppo.pages[idx].owned && force) {
		ppo.pages[idx].owned = false;	/* the pool's reference, dropped behind its back */
	} else {
		ppo_err("page %d: no get_page reference held (force=true drops the pool's)", idx);
		return -EALREADY;
	}
	put_page(ppo.pages[idx].page);
	return 0;
}

/* Give back everything the sequence still holds and destroy its pools (NAPIs disabled first,
 * as a driver's teardown does). Pools then go away by themselves. */
void ppo_pool_reset(void)
{
	int i;

	for (i = 1; i <= ppo.nnapis; i++) {
		if (ppo.napis[i]->enabled) {
			napi_disable(&ppo.napis[i]->napi);
			ppo.napis[i]->enabled = false;
		}
	}
	for (i = 1; i <= ppo.npages; i++) {
		struct ppo_page *pg = &ppo.pages[i];

		if (pg->owned) {
			pg->owned = false;
			page_pool_put_full_page(ppo.pools[pg->pool].pp, pg->page, false);
		}
		while (pg->extra_refs > 0) {
			pg->extra_refs--;
			put_page(pg->page);
		}
	}
	for (i = 1; i <= ppo.npools; i++) {
		if (ppo.pools[i].state == PPO_POOL_LIVE)
			page_pool_destroy(ppo.pools[i].pp);
		memset(&ppo.pools[i], 0, sizeof(ppo.pools[i]));
	}
	ppo.npools = 0;
	memset(ppo.pages, 0, sizeof(*ppo.pages) * (ppo.npages + 1));
	ppo.npages = 0;
}
