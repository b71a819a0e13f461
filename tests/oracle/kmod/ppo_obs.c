// SPDX-License-Identifier: GPL-2.0
/*
 * pporacle: what the kernel did, as one JSON object per op.
 *
 * LAYOUT PIN: the alloc-cache count, the ring count, the hold/release counters, cpuid, the
 * napi pointer and the user-facing id/detach time are read straight out of struct page_pool,
 * and the page fields out of struct page. That ties this file to the struct layouts of the
 * kernel whose headers it was built against (Debian's 6.1.176, 6.12.95 and 7.3.4 here); the
 * guards below follow those three trees. A new kernel needs its fields checked again.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/ptr_ring.h>
#include <linux/nodemask.h>
#include <generated/utsrelease.h>
#include "ppo.h"

#define PPO_HAS_CPUID        (LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0))
/* 6.12 keeps the NAPI id the pool was listed with in pool->user; 7.x reads it from the NAPI */
#define PPO_HAS_USER_NAPI_ID (LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0) && \
			      LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0))

#ifdef PP_MAGIC_MASK
#define PPO_MAGIC_MASK PP_MAGIC_MASK
#else
#define PPO_MAGIC_MASK (~0x3UL)
#endif

struct jb {
	char *b;
	size_t len, cap;
	bool truncated;
};

static __printf(2, 3) void jp(struct jb *j, const char *fmt, ...)
{
	va_list ap;
	size_t room = j->cap - j->len;

	if (room <= 1) {
		j->truncated = true;
		return;
	}
	va_start(ap, fmt);
	j->len += vscnprintf(j->b + j->len, room, fmt, ap);
	va_end(ap);
	if (j->len >= j->cap - 1)
		j->truncated = true;
}

static void jstr(struct jb *j, const char *s)
{
	jp(j, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			jp(j, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			jp(j, "\\u%04x", *s);
		else
			jp(j, "%c", *s);
	}
	jp(j, "\"");
}

static long pp_refs(struct page *p)
{
#if PPO_HAS_PP_REF_COUNT
	return atomic_long_read(&p->pp_ref_count);
#else
	return atomic_long_read(&p->pp_frag_count);
#endif
}

/* Entries of the pool's ptr_ring that are produced and not yet consumed; *found when `want`
 * is one of them. Valid entries run from consumer_head up to the producer; slots consumed but
 * not yet zeroed lie behind consumer_head, so the walk stops at the producer. */
static int ring_count(struct ptr_ring *r, unsigned long want, bool *found)
{
	int i, n = 0;

	if (!r->queue || r->size <= 0)
		return 0;
	spin_lock_bh(&r->producer_lock);
	spin_lock(&r->consumer_lock);
	i = r->consumer_head;
	while (n < r->size && r->queue[i]) {
		if (n > 0 && i == r->producer)
			break;
		if ((unsigned long)r->queue[i] == want)
			*found = true;
		n++;
		if (++i >= r->size)
			i = 0;
	}
	spin_unlock(&r->consumer_lock);
	spin_unlock_bh(&r->producer_lock);
	return n;
}

static const char *where(struct page_pool *pool, struct page *pg)
{
	bool found = false;
	int i;

	for (i = 0; i < pool->alloc.count && i < PP_ALLOC_CACHE_SIZE; i++)
		if ((unsigned long)pool->alloc.cache[i] == (unsigned long)pg)
			return "cache";
	ring_count(&pool->ring, (unsigned long)pg, &found);
	return found ? "ring" : "out";
}

static void obs_pool(struct jb *j, int idx)
{
	struct ppo_pool *p = &ppo.pools[idx];
	struct page_pool *pool = p->pp;
	int held = 0, held_dma = 0, i;
	bool dummy = false;
	u32 hold, rel;

	jp(j, "{\"pool\":%d,\"id\":%u,\"state\":\"%s\",\"ptr\":\"%p\",\"napi\":%d,\"netdev\":%d",
	   idx, p->id, p->state == PPO_POOL_LIVE ? "live" : "destroyed", pool, p->napi, p->netdev);
	for (i = 1; i <= ppo.npages; i++) {
		if (ppo.pages[i].pool == idx && ppo.pages[i].owned) {
			held++;
			if (page_pool_get_dma_addr(ppo.pages[i].page))
				held_dma++;
		}
	}
	jp(j, ",\"held\":%d,\"held_dma_nonzero\":%d", held, held_dma);
	if (!ppo_pool_reachable(idx)) {
		/* destroyed and none of its pages left with us: it may be freed, do not read it */
		jp(j, ",\"readable\":false}");
		return;
	}
	hold = READ_ONCE(pool->pages_state_hold_cnt);
	rel = atomic_read(&pool->pages_state_release_cnt);
	jp(j, ",\"readable\":true,\"cache\":%u,\"ring\":%d,\"ring_size\":%d,\"hold\":%u,\"release\":%u,"
	   "\"inflight\":%d,\"nid\":%d,\"destroy_cnt\":%llu",
	   pool->alloc.count, ring_count(&pool->ring, 0, &dummy), pool->ring.size, hold, rel,
	   (int)(hold - rel), pool->p.nid, (unsigned long long)pool->destroy_cnt);
#if PPO_HAS_PARAM_NAPI
	jp(j, ",\"napi_set\":%s", READ_ONCE(pool->p.napi) ? "true" : "false");
#endif
#if PPO_HAS_CPUID
	jp(j, ",\"cpuid\":%d", READ_ONCE(pool->cpuid));
#endif
#if PPO_HAS_POOL_ID
	jp(j, ",\"detach_time_raw\":%lld", (long long)pool->user.detach_time);
#endif
#if PPO_HAS_USER_NAPI_ID
	jp(j, ",\"user_napi_id\":%u", pool->user.napi_id);
#endif
	jp(j, "}");
}

static void obs_page(struct jb *j, int idx)
{
	struct ppo_page *e = &ppo.pages[idx];
	struct page *pg = e->page;
	struct ppo_pool *p = &ppo.pools[e->pool];
	unsigned long magic = READ_ONCE(pg->pp_magic);

	jp(j, "{\"page\":%d,\"pool\":%d,\"owned\":%s,\"extra_refs\":%d,\"pfn\":%lu,\"nid\":%d,"
	   "\"refcount\":%d,\"pp_ref\":%ld,\"pp_magic\":\"0x%lx\",\"signature\":%s,\"pp_is_pool\":%s,"
	   "\"pfmemalloc\":%s,\"dma\":\"0x%llx\"",
	   idx, e->pool, e->owned ? "true" : "false", e->extra_refs, page_to_pfn(pg), page_to_nid(pg),
	   page_ref_count(pg), pp_refs(pg), magic,
	   (magic & PPO_MAGIC_MASK) == PP_SIGNATURE ? "true" : "false",
	   READ_ONCE(pg->pp) == p->pp ? "true" : "false",
	   page_is_pfmemalloc(pg) ? "true" : "false",
	   (unsigned long long)page_pool_get_dma_addr(pg));
	if (ppo_pool_reachable(e->pool))
		jp(j, ",\"where\":\"%s\"", where(p->pp, pg));
	jp(j, "}");
}

static const char *skb_state_name(enum ppo_skb_state st)
{
	switch (st) {
	case PPO_SKB_LIVE: return "live";
	case PPO_SKB_HELD: return "held";
	case PPO_SKB_CHAINED: return "chained";
	default: return "freed";
	}
}

/* An skb the op touched: read only while the module holds it (live or in the holder). */
static void obs_skb(struct jb *j, int idx)
{
	struct ppo_skb *e = &ppo.skbs[idx];
	struct sk_buff *skb = e->skb, *l;
	struct skb_shared_info *sh;
	int f, nlist = 0;

	jp(j, "{\"skb\":%d,\"state\":\"%s\"", idx, skb_state_name(e->state));
	if (e->state != PPO_SKB_LIVE && e->state != PPO_SKB_HELD) {
		jp(j, "}");
		return;
	}
	sh = skb_shinfo(skb);
	skb_walk_frags(skb, l)
		nlist++;
	jp(j, ",\"pp_recycle\":%s,\"dataref\":%d,\"nr_frags\":%d,\"cloned\":%s,\"cloned_bit\":%s,"
	   "\"len\":%u,\"data_len\":%u,\"headlen\":%u,\"head_frag\":%s,\"head_page\":%d,"
	   "\"frag_list\":%d,\"frags\":[",
	   skb->pp_recycle ? "true" : "false", atomic_read(&sh->dataref) & SKB_DATAREF_MASK,
	   sh->nr_frags, skb_cloned(skb) ? "true" : "false", skb->cloned ? "true" : "false",
	   skb->len, skb->data_len, skb_headlen(skb), skb->head_frag ? "true" : "false",
	   skb->head_frag ? ppo_page_index(virt_to_head_page(skb->head)) : 0, nlist);
	for (f = 0; f < sh->nr_frags; f++) {
		struct page *pg = skb_frag_page(&sh->frags[f]);

		jp(j, "%s{\"page\":%d,\"pfn\":%lu,\"off\":%u,\"size\":%u}", f ? "," : "",
		   ppo_page_index(pg), pg ? page_to_pfn(pg) : 0UL, skb_frag_off(&sh->frags[f]),
		   skb_frag_size(&sh->frags[f]));
	}
	jp(j, "]}");
}

size_t ppo_observe(char *buf, size_t cap, int rc)
{
	struct jb j = { .b = buf, .cap = cap };
	int i;

	jp(&j, "{\"rc\":%d,\"err\":", rc);
	jstr(&j, ppo.err);
	jp(&j, ",\"cpu\":%d,\"in_serving_softirq\":%s,\"result\":{%s}", ppo.ran_cpu,
	   ppo.in_serving_softirq ? "true" : "false", ppo.result);
	/* one snapshot: no softirq (NAPI poll, release worker's callers) moves pages meanwhile */
	local_bh_disable();
	ppo_touch_skb_pages();	/* the pages the op's skbs reference now */
	jp(&j, ",\"pools\":[");
	for (i = 1; i <= ppo.npools; i++) {
		jp(&j, i > 1 ? "," : "");
		obs_pool(&j, i);
	}
	jp(&j, "],\"pages\":[");
	for (i = 0; i < ppo.ntouched; i++) {
		jp(&j, i ? "," : "");
		obs_page(&j, ppo.touched[i]);
	}
	jp(&j, "],\"skbs\":[");
	for (i = 0; i < ppo.ntouched_skbs; i++) {
		jp(&j, i ? "," : "");
		obs_skb(&j, ppo.touched_skbs[i]);
	}
	local_bh_enable();
	jp(&j, "],\"netdevs\":[");
	for (i = 1; i <= ppo.nnetdevs; i++)
		jp(&j, "%s{\"netdev\":%d,\"ifindex\":%d,\"name\":\"%s\",\"registered\":%s}", i > 1 ? "," : "",
		   i, ppo.netdevs[i].ifindex, ppo.netdevs[i].name,
		   ppo.netdevs[i].registered ? "true" : "false");
	jp(&j, "],\"napis\":[");
	for (i = 1; i <= ppo.nnapis; i++) {
		struct ppo_napi *pn = ppo.napis[i];

		jp(&j, "%s{\"napi\":%d,\"netdev\":%d,\"napi_id\":%u,\"added\":%s,\"enabled\":%s,\"state\":\"0x%lx\"}",
		   i > 1 ? "," : "", i, pn->netdev, READ_ONCE(pn->napi.napi_id),
		   pn->added ? "true" : "false", pn->enabled ? "true" : "false", READ_ONCE(pn->napi.state));
	}
	jp(&j, "],\"pages_held\":%d,\"skbs_made\":%d,\"holder_len\":%u", ppo.npages, ppo.nskbs,
	   skb_queue_len(&ppo.holder));
	if (j.truncated) {
		/* keep it valid JSON: drop what did not fit */
		j.len = 0;
		j.truncated = false;
		jp(&j, "{\"rc\":%d,\"err\":\"observation larger than %zu bytes\"", rc, cap);
	}
	jp(&j, "}\n");
	return j.len;
}

void ppo_obs_features(char *buf, size_t cap)
{
	char skb[256];
	size_t n;

	ppo_skb_features(skb, sizeof(skb));
	n = scnprintf(buf, cap,
		  "{\"uts_release\":\"%s\",\"version_code\":%u,\"pp_ref_field\":\"%s\",\"param_napi\":%s,"
		  "\"param_netdev\":%s,\"pool_id\":%s,\"bulk_api\":\"%s\",\"disable_direct_recycling\":%s,"
		  "\"pp_magic_mask\":\"0x%lx\",\"page_pool_stats\":%s,\"numa_nodes_online\":%u,"
		  "\"alloc_cache_size\":%d}\n",
		  UTS_RELEASE, LINUX_VERSION_CODE, PPO_HAS_PP_REF_COUNT ? "pp_ref_count" : "pp_frag_count",
		  PPO_HAS_PARAM_NAPI ? "true" : "false", PPO_HAS_PARAM_NETDEV ? "true" : "false",
		  PPO_HAS_POOL_ID ? "true" : "false",
		  PPO_HAS_NETMEM_BULK ? "page_pool_put_netmem_bulk" : "page_pool_put_page_bulk",
		  LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0) ? "true" : "false",
		  (unsigned long)PPO_MAGIC_MASK, IS_ENABLED(CONFIG_PAGE_POOL_STATS) ? "true" : "false",
		  num_online_nodes(), PP_ALLOC_CACHE_SIZE);
	/* the skb functions the module reaches (ppo_skb.c), before the closing brace */
	if (n >= 2)
		scnprintf(buf + n - 2, cap - n + 2, ",\"max_skb_frags\":%d,%s}\n", (int)MAX_SKB_FRAGS, skb);
}
