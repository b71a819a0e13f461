// SPDX-License-Identifier: GPL-2.0
/*
 * pporacle: skbs on pool pages (tests/oracle/README.md "skbs"). An skb is named by its 1-based
 * index in the order the sequence made it (skb_build, skb_clone, skb_split, skb_segment), as
 * ppsim's model names its skbs.
 *
 * Every skb the module builds has an empty linear area: build_skb on a pool page (the head
 * page) or alloc_skb(0) (a slab head), then skb_reserve of the whole tailroom. So headlen is 0,
 * len == data_len == the frags' bytes, and skb_try_coalesce never copies `from` into `to`'s
 * tailroom (it moves or references the frags, which is what the model describes). A pool page
 * given to skb_build moves the pool reference the module held into the skb (the page is no
 * longer "owned").
 *
 * Functions the kernel does not export (skb_gro_receive, skb_shift, skb_attempt_defer_free on
 * 6.1, 6.12 and 7.3) are found through kallsyms_lookup_name, whose address a kprobe gives
 * (kallsyms_lookup_name itself is not exported since 5.7); `features` says which were found.
 * The module refuses what would crash the oracle (an skb it no longer holds, a page it holds
 * no reference to, a segment layout skb_segment cannot take), and runs everything else, bugs
 * included (a split that leaks pool pages is an observation).
 */
#include <linux/version.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/skbuff.h>
#include <linux/kprobes.h>
#include <linux/if_ether.h>
#include <net/gro.h>
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#include <linux/skbuff_ref.h>	/* the frag ref helpers moved here in 6.10 */
#endif
#include <net/net_namespace.h>
#include "ppo.h"

/* ---- functions found through kallsyms ---------------------------------------------------- */

static unsigned long (*ppo_kallsyms)(const char *name);
static int (*ppo_gro_receive_fn)(struct sk_buff *p, struct sk_buff *skb);
static int (*ppo_shift_fn)(struct sk_buff *tgt, struct sk_buff *skb, int shiftlen);
static void (*ppo_defer_free_fn)(struct sk_buff *skb);
static bool ppo_syms_looked_up;

static void *ppo_sym(const char *name)
{
	if (!ppo_kallsyms) {
		struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };

		if (register_kprobe(&kp) < 0)
			return NULL;
		ppo_kallsyms = (void *)kp.addr;
		unregister_kprobe(&kp);
	}
	return ppo_kallsyms ? (void *)ppo_kallsyms(name) : NULL;
}

static void ppo_lookup_syms(void)
{
	if (ppo_syms_looked_up)
		return;
	ppo_syms_looked_up = true;
	ppo_gro_receive_fn = ppo_sym("skb_gro_receive");
	ppo_shift_fn = ppo_sym("skb_shift");
	ppo_defer_free_fn = ppo_sym("skb_attempt_defer_free");
}

void ppo_skb_features(char *buf, size_t cap)
{
	ppo_lookup_syms();
	scnprintf(buf, cap, "\"kallsyms\":%s,\"skb_gro_receive\":%s,\"skb_shift\":%s,"
		  "\"skb_attempt_defer_free\":%s",
		  ppo_kallsyms ? "true" : "false", ppo_gro_receive_fn ? "true" : "false",
		  ppo_shift_fn ? "true" : "false", ppo_defer_free_fn ? "true" : "false");
}

/* ---- the skb table ----------------------------------------------------------------------- */

void ppo_touch_skb(int idx)
{
	int i;

	for (i = 0; i < ppo.ntouched_skbs; i++)
		if (ppo.touched_skbs[i] == idx)
			goto pages;
	if (ppo.ntouched_skbs < PPO_MAX_SKBS)
		ppo.touched_skbs[ppo.ntouched_skbs++] = idx;
pages:
	/* the pages it references now (before the op, for the op's own skbs) */
	if (ppo.skbs[idx].state == PPO_SKB_LIVE || ppo.skbs[idx].state == PPO_SKB_HELD) {
		struct sk_buff *skb = ppo.skbs[idx].skb;
		struct skb_shared_info *sh = skb_shinfo(skb);
		int f, pg;

		if (skb->head_frag) {
			pg = ppo_page_index(virt_to_head_page(skb->head));
			if (pg)
				ppo_touch_page(pg);
		}
		for (f = 0; f < sh->nr_frags; f++) {
			pg = ppo_page_index(skb_frag_page(&sh->frags[f]));
			if (pg)
				ppo_touch_page(pg);
		}
	}
}

/* After the op: the pages of every touched skb still held. */
void ppo_touch_skb_pages(void)
{
	int i;

	for (i = 0; i < ppo.ntouched_skbs; i++)
		ppo_touch_skb(ppo.touched_skbs[i]);
}

void ppo_touch_live_skbs(void)
{
	int i;

	for (i = 1; i <= ppo.nskbs; i++)
		if (ppo.skbs[i].state == PPO_SKB_LIVE || ppo.skbs[i].state == PPO_SKB_HELD)
			ppo_touch_skb(i);
}

/* The page's index in the table: the latest allocation of that frame, 0 when none. */
int ppo_page_index(struct page *pg)
{
	int i;

	if (!pg)
		return 0;
	for (i = ppo.npages; i >= 1; i--)
		if (ppo.pages[i].page == pg)
			return i;
	return 0;
}

static bool page_holds_pool(struct page *pg, int pool)
{
	unsigned long magic;

	if (!pg || page_ref_count(pg) <= 0)
		return false;
	magic = READ_ONCE(pg->pp_magic);
#ifdef PP_MAGIC_MASK
	magic &= PP_MAGIC_MASK;
#else
	magic &= ~0x3UL;
#endif
	return magic == PP_SIGNATURE && READ_ONCE(pg->pp) == ppo.pools[pool].pp;
}

/* A destroyed pool stays allocated while one of its pages is in flight: a page an skb we hold
 * references that still carries the signature and points at the pool has not been released
 * by it (page_pool_release_page clears both), so the pool's inflight count is not 0.
 * Unless a pool the sequence created later has the same address: then this one was freed and
 * the pages point at the other (kmalloc reused it; gen-000013 of the skb corpus). */
bool ppo_skbs_hold_pool_page(int pool)
{
	int i, f;

	for (i = pool + 1; i <= ppo.npools; i++)
		if (ppo.pools[i].pp == ppo.pools[pool].pp)
			return false;
	for (i = 1; i <= ppo.nskbs; i++) {
		struct sk_buff *skb;
		struct skb_shared_info *sh;

		if (ppo.skbs[i].state != PPO_SKB_LIVE && ppo.skbs[i].state != PPO_SKB_HELD)
			continue;
		skb = ppo.skbs[i].skb;
		sh = skb_shinfo(skb);
		if (skb->head_frag && page_holds_pool(virt_to_head_page(skb->head), pool))
			return true;
		for (f = 0; f < sh->nr_frags; f++)
			if (page_holds_pool(skb_frag_page(&sh->frags[f]), pool))
				return true;
	}
	return false;
}

static int new_skb(struct sk_buff *skb)
{
	int idx = ++ppo.nskbs;

	ppo.skbs[idx] = (struct ppo_skb){ .skb = skb, .state = PPO_SKB_LIVE };
	skb_mark_not_on_list(skb);
	ppo_touch_skb(idx);
	return idx;
}

/* An skb operand: one the module holds (LIVE; HELD only where `allow_held`). */
static int skb_arg(struct ppo_args *a, const char *key, bool allow_held, int *idx)
{
	int err = ppo_arg_index(a, key, ppo.nskbs, true, idx);

	if (err)
		return err;
	switch (ppo.skbs[*idx].state) {
	case PPO_SKB_LIVE:
		return 0;
	case PPO_SKB_HELD:
		if (allow_held)
			return 0;
		ppo_err("%s: skb %d is in the holder; release it first", key, *idx);
		return -EBUSY;
	case PPO_SKB_CHAINED:
		ppo_err("%s: skb %d is chained on the frag_list of skb %d; it is reached only through that skb",
			key, *idx, ppo.skbs[*idx].parent);
		return -EBUSY;
	default:
		ppo_err("%s: skb %d was freed", key, *idx);
		return -EALREADY;
	}
}

/* Mark `idx` freed, and what its frag_list carried with it. */
static void mark_freed(int idx)
{
	int i;

	ppo.skbs[idx].state = PPO_SKB_FREED;
	ppo.skbs[idx].skb = NULL;
	for (i = 1; i <= ppo.nskbs; i++)
		if (ppo.skbs[i].state == PPO_SKB_CHAINED && ppo.skbs[i].parent == idx)
			mark_freed(i);
}

/* The pool whose NAPI an @napi skb op runs in: that of the skb's first frag page, else of its
 * head page. */
static int skb_pool(int idx)
{
	struct sk_buff *skb = ppo.skbs[idx].skb;
	int pg = 0;

	if (skb_shinfo(skb)->nr_frags)
		pg = ppo_page_index(skb_frag_page(&skb_shinfo(skb)->frags[0]));
	if (!pg && skb->head_frag)
		pg = ppo_page_index(virt_to_head_page(skb->head));
	return pg ? ppo.pages[pg].pool : 0;
}

static int skb_napi(int idx)
{
	int pool = skb_pool(idx);

	return pool ? ppo.pools[pool].napi : 0;
}

/* No room in the linear area: headlen 0 and tailroom 0 (see the top of the file). */
static void empty_linear(struct sk_buff *skb)
{
	skb_reserve(skb, skb_tailroom(skb));
	skb->dev = init_net.loopback_dev;
}

/* ---- skb_build --------------------------------------------------------------------------- */

struct frag_spec {
	int page;
	long off, len;
};

struct build_job {
	int head;
	struct frag_spec frags[MAX_SKB_FRAGS];
	int n;
	bool recycle, napi_ctx;
	struct sk_buff *skb;
};

static unsigned int page_bytes(int page)
{
	return PAGE_SIZE << compound_order(ppo.pages[page].page);
}

static int do_build(void *arg)
{
	struct build_job *j = arg;
	struct sk_buff *skb;
	int i;

	if (j->head) {
		void *data = page_address(ppo.pages[j->head].page);

		skb = j->napi_ctx ? napi_build_skb(data, page_bytes(j->head))
				  : build_skb(data, page_bytes(j->head));
	} else {
		skb = alloc_skb(0, GFP_ATOMIC);
	}
	if (!skb)
		return -ENOMEM;
	empty_linear(skb);
	for (i = 0; i < j->n; i++)
		skb_add_rx_frag(skb, i, ppo.pages[j->frags[i].page].page, j->frags[i].off,
				j->frags[i].len, j->frags[i].len);
	if (j->recycle)
		skb_mark_for_recycle(skb);
	j->skb = skb;
	return 0;
}

/* frags=P[+OFF][:LEN],...: page index, offset, length (0 or absent: to the end of the page). */
static int parse_frags(const char *v, struct build_job *j)
{
	char buf[512], *p, *tok;

	strscpy(buf, v, sizeof(buf));
	p = buf;
	while ((tok = strsep(&p, ",")) != NULL) {
		char *plus, *colon;
		long page, off = 0, len = 0;

		if (!*tok)
			continue;
		if (j->n >= MAX_SKB_FRAGS) {
			ppo_err("frags: more than %d; an skb holds at most MAX_SKB_FRAGS", (int)MAX_SKB_FRAGS);
			return -EINVAL;
		}
		colon = strchr(tok, ':');
		if (colon) {
			*colon = 0;
			if (kstrtol(colon + 1, 0, &len) || len < 0)
				goto bad;
		}
		plus = strchr(tok, '+');
		if (plus) {
			*plus = 0;
			if (kstrtol(plus + 1, 0, &off) || off < 0)
				goto bad;
		}
		if (kstrtol(tok, 0, &page) || page < 1 || page > ppo.npages) {
			ppo_err("frags[%d]: \"%s\" is not one of this sequence's pages (1..%d)", j->n, tok,
				ppo.npages);
			return -ENOENT;
		}
		j->frags[j->n++] = (struct frag_spec){ .page = page, .off = off, .len = len };
		continue;
bad:
		ppo_err("frags[%d]: not PAGE[+OFFSET][:LEN]", j->n);
		return -EINVAL;
	}
	return 0;
}

static int give_page(int page, const char *what)
{
	if (!ppo.pages[page].owned) {
		ppo_err("%s: page %d: the module holds no pool reference to it (returned, or in an skb)",
			what, page);
		return -EALREADY;
	}
	if (!ppo_pool_reachable(ppo.pages[page].pool)) {
		ppo_err("%s: page %d's pool may be freed already", what, page);
		return -ESHUTDOWN;
	}
	return 0;
}

int ppo_skb_build(struct ppo_args *a)
{
	struct build_job j = { .n = 0 };
	enum ppo_ctx ctx;
	const char *frags;
	int err, i, k, napi = 0;

	err = ppo_arg_index(a, "head", ppo.npages, false, &j.head) ?:
	      ppo_arg_bool(a, "recycle", true, &j.recycle) ?: ppo_ctx_of(a, PPO_CTX_BH, &ctx);
	if (err)
		return err;
	frags = ppo_arg(a, "frags");
	if (frags) {
		err = parse_frags(frags, &j);
		if (err)
			return err;
	}
	if (!j.n && !j.head) {
		ppo_err("frags: an skb needs at least one frag or a page head");
		return -EINVAL;
	}
	if (ppo.nskbs >= PPO_MAX_SKBS) {
		ppo_err("too many skbs (max %d)", PPO_MAX_SKBS);
		return -ENOSPC;
	}
	for (i = 0; i < j.n; i++) {
		unsigned int bytes = page_bytes(j.frags[i].page);
		char what[16];

		snprintf(what, sizeof(what), "frags[%d]", i);
		if (!j.frags[i].len)
			j.frags[i].len = j.frags[i].off < bytes ? bytes - j.frags[i].off : 0;
		if (!j.frags[i].len || j.frags[i].off + j.frags[i].len > bytes) {
			ppo_err("frags[%d]: offset %ld + len %ld exceeds the page's %u bytes", i,
				j.frags[i].off, j.frags[i].len, bytes);
			return -EINVAL;
		}
		for (k = 0; k < i; k++) {
			if (j.frags[k].page == j.frags[i].page) {
				ppo_err("frags[%d]: page %d given twice (one pool reference)", i,
					j.frags[i].page);
				return -EINVAL;
			}
		}
		if (j.frags[i].page == j.head) {
			ppo_err("frags[%d]: page %d is the head", i, j.head);
			return -EINVAL;
		}
		err = give_page(j.frags[i].page, what);
		if (err)
			return err;
	}
	if (j.head) {
		err = give_page(j.head, "head");
		if (err)
			return err;
	}
	if (ctx == PPO_CTX_NAPI) {
		int pg = j.n ? j.frags[0].page : j.head;

		napi = ppo.pools[ppo.pages[pg].pool].napi;
	}
	j.napi_ctx = ctx != PPO_CTX_PROCESS;
	err = ppo_run_ctx(ctx, napi, do_build, &j);
	if (err) {
		if (!ppo.err[0])
			ppo_err("build_skb/alloc_skb: %d", err);
		return err;
	}
	for (i = 0; i < j.n; i++)
		ppo.pages[j.frags[i].page].owned = false;
	if (j.head)
		ppo.pages[j.head].owned = false;
	i = new_skb(j.skb);
	ppo_result("\"skb\":%d", i);
	return 0;
}

/* ---- one-skb ops: clone, expand, free ---------------------------------------------------- */

struct skb_job {
	int skb, skb2;
	long n1, n2;
	int ret;
	bool flag;
	struct sk_buff *out;
};

static int do_clone(void *arg)
{
	struct skb_job *j = arg;

	j->out = skb_clone(ppo.skbs[j->skb].skb, GFP_ATOMIC);
	return j->out ? 0 : -ENOMEM;
}

static int skb_op_ctx(struct ppo_args *a, enum ppo_ctx def, int skb, int (*fn)(void *),
		      struct skb_job *j)
{
	enum ppo_ctx ctx;
	int err = ppo_ctx_of(a, def, &ctx);

	if (err)
		return err;
	return ppo_run_ctx(ctx, ctx == PPO_CTX_NAPI ? skb_napi(skb) : 0, fn, j);
}

int ppo_skb_clone(struct ppo_args *a)
{
	struct skb_job j = { 0 };
	int err = skb_arg(a, "skb", false, &j.skb);

	if (err)
		return err;
	if (ppo.nskbs >= PPO_MAX_SKBS) {
		ppo_err("too many skbs (max %d)", PPO_MAX_SKBS);
		return -ENOSPC;
	}
	ppo_touch_skb(j.skb);
	err = skb_op_ctx(a, PPO_CTX_PROCESS, j.skb, do_clone, &j);
	if (err)
		return err;
	ppo_result("\"skb\":%d", new_skb(j.out));
	return 0;
}

static int do_expand(void *arg)
{
	struct skb_job *j = arg;

	j->ret = pskb_expand_head(ppo.skbs[j->skb].skb, 0, 0, GFP_ATOMIC);
	return j->ret;
}

int ppo_skb_expand_head(struct ppo_args *a)
{
	struct skb_job j = { 0 };
	int err = skb_arg(a, "skb", false, &j.skb);

	if (err)
		return err;
	ppo_touch_skb(j.skb);
	err = skb_op_ctx(a, PPO_CTX_PROCESS, j.skb, do_expand, &j);
	if (err && !ppo.err[0])
		ppo_err("pskb_expand_head: %d", err);
	return err;
}

static int do_kfree(void *arg)
{
	struct skb_job *j = arg;

	kfree_skb(ppo.skbs[j->skb].skb);
	return 0;
}

static int do_napi_consume(void *arg)
{
	struct skb_job *j = arg;

	napi_consume_skb(ppo.skbs[j->skb].skb, j->n1);
	return 0;
}

static int do_defer_free(void *arg)
{
	struct skb_job *j = arg;

	ppo_defer_free_fn(ppo.skbs[j->skb].skb);
	return 0;
}

static int free_op(struct ppo_args *a, enum ppo_ctx def, int (*fn)(void *), struct skb_job *j)
{
	int err = skb_arg(a, "skb", false, &j->skb);

	if (err)
		return err;
	ppo_touch_skb(j->skb);
	err = skb_op_ctx(a, def, j->skb, fn, j);
	if (!err)
		mark_freed(j->skb);
	return err;
}

int ppo_skb_kfree(struct ppo_args *a)
{
	struct skb_job j = { 0 };

	return free_op(a, PPO_CTX_PROCESS, do_kfree, &j);
}

int ppo_skb_napi_consume(struct ppo_args *a)
{
	struct skb_job j = { 0 };
	int err = ppo_arg_int(a, "budget", 64, &j.n1);

	if (err)
		return err;
	return free_op(a, PPO_CTX_NAPI, do_napi_consume, &j);
}

int ppo_skb_defer_free(struct ppo_args *a)
{
	struct skb_job j = { 0 };

	ppo_lookup_syms();
	if (!ppo_defer_free_fn) {
		ppo_err("skb_attempt_defer_free is not exported and kallsyms did not find it");
		return -EOPNOTSUPP;
	}
	return free_op(a, PPO_CTX_PROCESS, do_defer_free, &j);
}

/* ---- skb_frag_ref ------------------------------------------------------------------------ */

int ppo_skb_frag_ref(struct ppo_args *a)
{
	long frag;
	int idx, pg, err = skb_arg(a, "skb", true, &idx) ?: ppo_arg_int(a, "frag", 0, &frag);
	struct skb_shared_info *sh;

	if (err)
		return err;
	sh = skb_shinfo(ppo.skbs[idx].skb);
	if (frag < 0 || frag >= sh->nr_frags) {
		ppo_err("frag: %ld but skb %d has %d frags", frag, idx, sh->nr_frags);
		return -EINVAL;
	}
	pg = ppo_page_index(skb_frag_page(&sh->frags[frag]));
	if (!pg) {
		ppo_err("frag %ld of skb %d is not one of this sequence's pages", frag, idx);
		return -ENOENT;
	}
	ppo_touch_skb(idx);
	__skb_frag_ref(&sh->frags[frag]);	/* the holder's reference: put_page gives it back */
	ppo.pages[pg].extra_refs++;
	ppo_touch_page(pg);
	ppo_result("\"page\":%d", pg);
	return 0;
}

/* ---- two-skb ops ------------------------------------------------------------------------- */

static int two_skbs(struct ppo_args *a, const char *k1, const char *k2, int *s1, int *s2)
{
	int err = skb_arg(a, k1, false, s1) ?: skb_arg(a, k2, false, s2);

	if (err)
		return err;
	if (*s1 == *s2) {
		ppo_err("%s: the same skb as %s", k2, k1);
		return -EINVAL;
	}
	ppo_touch_skb(*s1);
	ppo_touch_skb(*s2);
	return 0;
}

static int do_split(void *arg)
{
	struct skb_job *j = arg;

	skb_split(ppo.skbs[j->skb].skb, j->out, j->n1);
	return 0;
}

/* skb_split skb=N at=A cut=C: frags from A on move to a new skb; with C > 0, frag A is cut C
 * bytes in (the model's terms); the kernel is given the byte offset. */
int ppo_skb_split(struct ppo_args *a)
{
	struct skb_job j = { 0 };
	struct skb_shared_info *sh;
	long at, cut;
	int i, err = skb_arg(a, "skb", false, &j.skb) ?: ppo_arg_int(a, "at", 0, &at) ?:
		     ppo_arg_int(a, "cut", 0, &cut);

	if (err)
		return err;
	ppo_touch_skb(j.skb);	/* named: observed even when refused, as skb_shift's two */
	sh = skb_shinfo(ppo.skbs[j.skb].skb);
	if (at < 0 || at >= sh->nr_frags) {
		ppo_err("at: %ld but skb %d has %d frags", at, j.skb, sh->nr_frags);
		return -EINVAL;
	}
	if (cut < 0 || cut >= skb_frag_size(&sh->frags[at])) {
		ppo_err("cut: %ld but frag %ld is %u bytes long", cut, at, skb_frag_size(&sh->frags[at]));
		return -EINVAL;
	}
	if (ppo.nskbs >= PPO_MAX_SKBS) {
		ppo_err("too many skbs (max %d)", PPO_MAX_SKBS);
		return -ENOSPC;
	}
	j.n1 = skb_headlen(ppo.skbs[j.skb].skb) + cut;
	for (i = 0; i < at; i++)
		j.n1 += skb_frag_size(&sh->frags[i]);
	j.out = alloc_skb(0, GFP_KERNEL);
	if (!j.out)
		return -ENOMEM;
	empty_linear(j.out);
	err = skb_op_ctx(a, PPO_CTX_PROCESS, j.skb, do_split, &j);
	if (err) {
		kfree_skb(j.out);
		return err;
	}
	ppo_result("\"skb\":%d,\"len\":%ld", new_skb(j.out), j.n1);
	return 0;
}

static int do_shift(void *arg)
{
	struct skb_job *j = arg;

	j->ret = ppo_shift_fn(ppo.skbs[j->skb].skb, ppo.skbs[j->skb2].skb, j->n1);
	return 0;
}

/* skb_shift tgt=T skb=S count=C partial=P: C whole frags of S and P bytes of the next. */
int ppo_skb_shift(struct ppo_args *a)
{
	struct skb_job j = { 0 };
	struct skb_shared_info *sh;
	long count, partial;
	int i, err;

	err = two_skbs(a, "tgt", "skb", &j.skb, &j.skb2) ?: ppo_arg_int(a, "count", 1, &count) ?:
	      ppo_arg_int(a, "partial", 0, &partial);
	if (err)
		return err;
	ppo_lookup_syms();
	if (!ppo_shift_fn) {
		ppo_err("skb_shift is not exported and kallsyms did not find it");
		return -EOPNOTSUPP;
	}
	if (count < 0 || partial < 0 || (!count && !partial)) {
		ppo_err("count: %ld with partial %ld shifts nothing", count, partial);
		return -EINVAL;
	}
	sh = skb_shinfo(ppo.skbs[j.skb2].skb);
	if (count + (partial > 0) > sh->nr_frags) {
		ppo_err("count: %ld (+ partial) but skb %d has %d frags", count, j.skb2, sh->nr_frags);
		return -EINVAL;
	}
	if (partial && partial >= skb_frag_size(&sh->frags[count])) {
		ppo_err("partial: %ld but frag %ld is %u bytes long", partial, count,
			skb_frag_size(&sh->frags[count]));
		return -EINVAL;
	}
	j.n1 = partial;
	for (i = 0; i < count; i++)
		j.n1 += skb_frag_size(&sh->frags[i]);
	err = skb_op_ctx(a, PPO_CTX_PROCESS, j.skb, do_shift, &j);
	ppo_result("\"shifted\":%d", j.ret);
	return err;
}

static int do_coalesce(void *arg)
{
	struct skb_job *j = arg;
	int delta = 0;

	j->ret = skb_try_coalesce(ppo.skbs[j->skb].skb, ppo.skbs[j->skb2].skb, &j->flag, &delta);
	return 0;
}

/* skb_try_coalesce to=T from=F: `from` stays the sequence's (the caller frees it, as
 * kfree_skb_partial does after tcp_try_coalesce), unless its head was stolen. */
int ppo_skb_try_coalesce(struct ppo_args *a)
{
	struct skb_job j = { 0 };
	long racing;
	int err = two_skbs(a, "to", "from", &j.skb, &j.skb2) ?:
		  ppo_arg_int(a, "racing_clone", 0, &racing);

	if (err)
		return err;
	if (racing) {
		ppo_err("racing_clone: another CPU freeing a clone meanwhile cannot be made on one CPU");
		return -EOPNOTSUPP;
	}
	err = skb_op_ctx(a, PPO_CTX_PROCESS, j.skb, do_coalesce, &j);
	if (err)
		return err;
	if (j.ret && j.flag) {
		/* the head of `from` is now a frag of `to`: free the rest as the caller would */
		kfree_skb_partial(ppo.skbs[j.skb2].skb, true);
		mark_freed(j.skb2);
	}
	ppo_result("\"merged\":%s,\"fragstolen\":%s", j.ret ? "true" : "false",
		   j.flag ? "true" : "false");
	return 0;
}

static int do_gro(void *arg)
{
	struct skb_job *j = arg;
	struct sk_buff *p = ppo.skbs[j->skb].skb, *skb = ppo.skbs[j->skb2].skb;

	if (!ppo.skbs[j->skb].gro_p) {	/* p enters the GRO list: its own last, one segment */
		memset(p->cb, 0, sizeof(p->cb));
		NAPI_GRO_CB(p)->last = p;
		NAPI_GRO_CB(p)->count = 1;
		ppo.skbs[j->skb].gro_p = true;
	}
	memset(skb->cb, 0, sizeof(skb->cb));	/* data_offset 0, flush 0 */
	j->ret = ppo_gro_receive_fn(p, skb);
	j->n1 = j->ret ? 0 : NAPI_GRO_CB(skb)->free;
	/* napi_skb_finish frees a merged skb in the same context, before the poll ends: a page
	 * it releases is recycled as the receive context allows (page_pool_napi_local since 6.10;
	 * __napi_kfree_skb passes napi_safe before). Freed after the context, it would always go
	 * to the ring. */
	if (j->n1 == NAPI_GRO_FREE_STOLEN_HEAD)
		kfree_skb_partial(skb, true);
	else if (j->n1 && in_softirq())
		napi_consume_skb(skb, 64);
	else if (j->n1)
		consume_skb(skb);
	return 0;
}

/* skb_gro_receive p=P skb=S: as dev_gro_receive merges a held packet P and a new one S; then,
 * as napi_skb_finish does, S is freed when its frags moved (NAPI_GRO_FREE) or stays chained on
 * P's frag_list. */
int ppo_skb_gro_receive(struct ppo_args *a)
{
	struct skb_job j = { 0 };
	int err = two_skbs(a, "p", "skb", &j.skb, &j.skb2);

	if (err)
		return err;
	ppo_lookup_syms();
	if (!ppo_gro_receive_fn) {
		ppo_err("skb_gro_receive is not exported and kallsyms did not find it");
		return -EOPNOTSUPP;
	}
	if (skb_shinfo(ppo.skbs[j.skb].skb) == skb_shinfo(ppo.skbs[j.skb2].skb)) {
		ppo_err("skb: skb %d and p (skb %d) are clones sharing one data area", j.skb2, j.skb);
		return -EINVAL;
	}
	err = skb_op_ctx(a, PPO_CTX_BH, j.skb, do_gro, &j);
	if (err)
		return err;
	ppo_result("\"ret\":%d,\"free\":%ld", j.ret, j.n1);
	if (j.ret)
		return 0;	/* refused: both stay as they were */
	if (j.n1) {
		mark_freed(j.skb2);	/* do_gro freed it */
	} else {
		ppo.skbs[j.skb2].state = PPO_SKB_CHAINED;
		ppo.skbs[j.skb2].parent = j.skb;
	}
	return 0;
}

/* ---- skb_segment ------------------------------------------------------------------------- */

static int do_segment(void *arg)
{
	struct skb_job *j = arg;
	struct sk_buff *skb = ppo.skbs[j->skb].skb;

	j->out = skb_segment(skb, NETIF_F_SG | NETIF_F_HW_CSUM);
	return 0;
}

/* skb_segment skb=N: GSO of an skb whose frags all have one size, with gso_size that size, so
 * each segment takes one frag (the model's terms). The skb gets what a TCP transmit would have
 * set: a MAC header at data (no headers: headlen 0), ETH_P_IP, CHECKSUM_PARTIAL. */
int ppo_skb_segment(struct ppo_args *a)
{
	struct skb_job j = { 0 };
	struct sk_buff *skb, *seg, *next;
	struct skb_shared_info *sh;
	int i, n = 0, first = 0, err = skb_arg(a, "skb", false, &j.skb);

	if (err)
		return err;
	ppo_touch_skb(j.skb);	/* named: observed even when refused */
	skb = ppo.skbs[j.skb].skb;
	sh = skb_shinfo(skb);
	if (sh->frag_list) {
		ppo_err("skb %d has a frag_list, whose segmentation the module does not set up", j.skb);
		return -EOPNOTSUPP;
	}
	if (!sh->nr_frags) {
		ppo_err("skb %d has no frags", j.skb);
		return -EINVAL;
	}
	for (i = 1; i < sh->nr_frags; i++) {
		if (skb_frag_size(&sh->frags[i]) != skb_frag_size(&sh->frags[0])) {
			ppo_err("frag %d is %u bytes, frag 0 %u: segments of one frag each need one size",
				i, skb_frag_size(&sh->frags[i]), skb_frag_size(&sh->frags[0]));
			return -EINVAL;
		}
	}
	if (ppo.nskbs + sh->nr_frags > PPO_MAX_SKBS) {
		ppo_err("too many skbs (max %d)", PPO_MAX_SKBS);
		return -ENOSPC;
	}
	skb_reset_mac_header(skb);
	skb_reset_network_header(skb);
	skb_reset_transport_header(skb);
	skb->protocol = htons(ETH_P_IP);
	skb->ip_summed = CHECKSUM_PARTIAL;
	sh->gso_size = skb_frag_size(&sh->frags[0]);
	sh->gso_type = SKB_GSO_TCPV4;
	sh->gso_segs = 0;
	err = skb_op_ctx(a, PPO_CTX_PROCESS, j.skb, do_segment, &j);
	sh->gso_size = 0;
	sh->gso_type = 0;
	if (err)
		return err;
	if (IS_ERR_OR_NULL(j.out)) {
		ppo_err("skb_segment: %ld", j.out ? PTR_ERR(j.out) : 0L);
		return j.out ? PTR_ERR(j.out) : -EINVAL;
	}
	for (seg = j.out; seg; seg = next) {
		next = seg->next;
		i = new_skb(seg);
		if (!first)
			first = i;
		n++;
	}
	ppo_result("\"first_skb\":%d,\"segments\":%d", first, n);
	return 0;
}

/* ---- the holder -------------------------------------------------------------------------- */

/* stack_hold skb=N [holder=socket] [cpu=0]: into the module's queue, as a socket keeps what
 * it received until the reader takes it. */
/* The module has one holder: the model's socket holder on CPU 0. */
static int holder_arg(struct ppo_args *a)
{
	const char *h = ppo_arg(a, "holder");
	long cpu;
	int err = ppo_arg_int(a, "cpu", 0, &cpu);

	if (err)
		return err;
	if ((h && strcmp(h, "socket")) || cpu != 0) {
		ppo_err("holder: only holder=socket on cpu 0 (one queue)");
		return -EOPNOTSUPP;
	}
	return 0;
}

int ppo_stack_hold(struct ppo_args *a)
{
	int idx, err = skb_arg(a, "skb", false, &idx) ?: holder_arg(a);

	if (err)
		return err;
	skb_queue_tail(&ppo.holder, ppo.skbs[idx].skb);
	ppo.skbs[idx].state = PPO_SKB_HELD;
	ppo_touch_skb(idx);
	return 0;
}

static int skb_index(struct sk_buff *skb)
{
	int i;

	for (i = 1; i <= ppo.nskbs; i++)
		if (ppo.skbs[i].skb == skb)
			return i;
	return 0;
}

/* stack_release [holder=socket] [cpu=0] [count=K]: the reader takes K (0: all) in order and
 * frees them (recvmsg: process context). */
int ppo_stack_release(struct ppo_args *a)
{
	long count;
	int n = 0, err = holder_arg(a) ?: ppo_arg_int(a, "count", 0, &count);
	struct sk_buff *skb;

	if (err)
		return err;
	while ((!count || n < count) && (skb = skb_dequeue(&ppo.holder)) != NULL) {
		int idx = skb_index(skb);

		if (idx) {
			ppo.skbs[idx].state = PPO_SKB_LIVE;
			ppo_touch_skb(idx);
		}
		kfree_skb(skb);
		if (idx)
			mark_freed(idx);
		n++;
	}
	ppo_result("\"released\":%d", n);
	return 0;
}

/* Free every skb the sequence still holds (the holder's first), before the pages go back. */
void ppo_skb_reset(void)
{
	struct sk_buff *skb;
	int i;

	while ((skb = skb_dequeue(&ppo.holder)) != NULL) {
		i = skb_index(skb);
		kfree_skb(skb);
		if (i)
			mark_freed(i);
	}
	for (i = 1; i <= ppo.nskbs; i++) {
		if (ppo.skbs[i].state == PPO_SKB_LIVE) {
			kfree_skb(ppo.skbs[i].skb);
			mark_freed(i);
		}
	}
	memset(ppo.skbs, 0, sizeof(*ppo.skbs) * (ppo.nskbs + 1));
	ppo.nskbs = 0;
}
