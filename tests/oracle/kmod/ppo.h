/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pporacle: ppsim's kernel oracle module. It executes ppsim-style op lines on the real
 * page_pool API and describes, after every op, what the kernel did (ppo_obs.c).
 *
 * Objects the sequence creates are named by 1-based indices in creation order, never by
 * kernel ids: netdev=N, napi=N, device=N, pool=N, page=N (the N-th page the sequence got
 * from an allocation). The observation gives the kernel's ids (ifindex, napi id, pool id, pfn)
 * next to them so the host can map both ways.
 */
#ifndef PPO_H
#define PPO_H

#include <linux/version.h>
#include <linux/netdevice.h>
#include <linux/platform_device.h>
#include <linux/completion.h>
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#include <net/page_pool/types.h>
#include <net/page_pool/helpers.h>
#else
#include <net/page_pool.h>
#endif

/* API differences, by the version that introduced them upstream (Debian's kernels carry no
 * backport of these interfaces; ppo_obs.c reports what a kernel did not let us express). */
#define PPO_HAS_PARAM_NAPI   (LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0))
#define PPO_HAS_PARAM_NETDEV (LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0))
#define PPO_HAS_POOL_ID      (LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0))
#define PPO_HAS_PP_REF_COUNT (LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0))
#define PPO_HAS_NETMEM_BULK  (LINUX_VERSION_CODE >= KERNEL_VERSION(6, 14, 0))

#define PPO_MAX_NETDEVS 8
#define PPO_MAX_NAPIS   16
#define PPO_MAX_DEVICES 8
#define PPO_MAX_POOLS   16
#define PPO_MAX_PAGES   4096
#define PPO_MAX_ARGS    16
#define PPO_MAX_TOUCH   1024
#define PPO_MAX_SKBS    512

struct ppo_netdev {
	struct net_device *dev;
	int ifindex;
	bool registered;
	char name[IFNAMSIZ];
};

/* Never freed before module exit: a destroyed pool still in flight may read its napi. */
struct ppo_napi {
	struct napi_struct napi;
	int netdev;		/* index */
	bool added, enabled;
	/* the op the next poll runs (ppo_in_napi) */
	int (*fn)(void *arg);
	void *arg;
	int ret;
	int ran_cpu;
	bool pending;
	struct completion done;
};

enum ppo_pool_state { PPO_POOL_LIVE, PPO_POOL_DESTROYED };

struct ppo_pool {
	struct page_pool *pp;
	enum ppo_pool_state state;
	u32 id;			/* the kernel's pool id, 0 where it has none */
	int napi, netdev, device;	/* indices, 0 = none */
	int nid;
	u32 flags;
};

struct ppo_page {
	struct page *page;
	int pool;		/* index of the pool it came from */
	bool owned;		/* the module holds the pool reference it was handed */
	int extra_refs;		/* get_page references the module holds */
};

/* An skb the sequence made (ppo_skb.c). LIVE: the module holds it; HELD: it sits in the
 * holder queue (ppo.holder, a socket receive queue's stand-in); CHAINED: on the frag_list of
 * skb `parent` (skb_gro_receive), reached only through it; FREED: gone, never touched again. */
enum ppo_skb_state { PPO_SKB_FREED, PPO_SKB_LIVE, PPO_SKB_HELD, PPO_SKB_CHAINED };

struct ppo_skb {
	struct sk_buff *skb;
	enum ppo_skb_state state;
	int parent;		/* CHAINED: the skb whose frag_list holds it */
	bool gro_p;		/* its GRO control block was set up as a held packet (p) */
};

/* An op line, split: name, key=value pairs, @context. */
struct ppo_args {
	char *name;
	int n;
	char *key[PPO_MAX_ARGS];
	char *val[PPO_MAX_ARGS];
	bool used[PPO_MAX_ARGS];
	char ctx[16];		/* "", process, bh, napi, softirq */
};

enum ppo_ctx { PPO_CTX_PROCESS, PPO_CTX_BH, PPO_CTX_NAPI };

struct ppo_state {
	struct ppo_netdev netdevs[PPO_MAX_NETDEVS + 1];
	int nnetdevs;
	struct ppo_napi *napis[PPO_MAX_NAPIS + 1];
	int nnapis;
	struct platform_device *devices[PPO_MAX_DEVICES + 1];
	int ndevices;
	struct ppo_pool pools[PPO_MAX_POOLS + 1];
	int npools;
	struct ppo_page *pages;	/* [PPO_MAX_PAGES + 1] */
	int npages;
	/* what the last op touched, for the observation */
	int touched[PPO_MAX_TOUCH];
	int ntouched;
	int touched_pools[PPO_MAX_POOLS + 1];
	int ntouched_pools;
	struct ppo_skb *skbs;	/* [PPO_MAX_SKBS + 1] */
	int nskbs;
	struct sk_buff_head holder;	/* stack_hold's queue, in order */
	int touched_skbs[PPO_MAX_SKBS];
	int ntouched_skbs;
	/* the op's own result, a JSON object body (no braces) */
	char result[512];
	char err[160];
	int ran_cpu;		/* the CPU the op's kernel calls ran on */
	bool in_serving_softirq;	/* seen from inside the op */
};

extern struct ppo_state ppo;

/* ppo_args.c */
int ppo_parse(char *line, struct ppo_args *a);
const char *ppo_arg(struct ppo_args *a, const char *key);
int ppo_arg_int(struct ppo_args *a, const char *key, long def, long *out);
int ppo_arg_bool(struct ppo_args *a, const char *key, bool def, bool *out);
int ppo_arg_index(struct ppo_args *a, const char *key, int max, bool required, int *out);
const char *ppo_unused_arg(struct ppo_args *a);

/* ppo_net.c: netdevs, NAPI instances, platform devices */
int ppo_netdev_register(struct ppo_args *a);
int ppo_netdev_unregister(struct ppo_args *a);
int ppo_napi_add(struct ppo_args *a);
int ppo_napi_enable(struct ppo_args *a);
int ppo_napi_disable(struct ppo_args *a);
int ppo_napi_del(struct ppo_args *a);
int ppo_add_device(struct ppo_args *a);
int ppo_run_ctx(enum ppo_ctx ctx, int napi, int (*fn)(void *), void *arg);
void ppo_net_reset(void);
void ppo_net_exit(void);

/* ppo_pool.c: pools and pages */
int ppo_pool_create(struct ppo_args *a);
int ppo_pool_destroy(struct ppo_args *a);
int ppo_pool_alloc(struct ppo_args *a);
int ppo_pool_put(struct ppo_args *a);
int ppo_pool_put_bulk(struct ppo_args *a);
int ppo_pool_update_nid(struct ppo_args *a);
int ppo_pool_disable_direct(struct ppo_args *a);
int ppo_page_get(struct ppo_args *a);
int ppo_page_put(struct ppo_args *a);
void ppo_pool_reset(void);
bool ppo_pool_reachable(int pool);
void ppo_touch_page(int page);
void ppo_touch_pool(int pool);
int ppo_ctx_of(struct ppo_args *a, enum ppo_ctx def, enum ppo_ctx *out);

/* ppo_skb.c: skbs on pool pages */
int ppo_skb_build(struct ppo_args *a);
int ppo_skb_clone(struct ppo_args *a);
int ppo_skb_expand_head(struct ppo_args *a);
int ppo_skb_split(struct ppo_args *a);
int ppo_skb_shift(struct ppo_args *a);
int ppo_skb_try_coalesce(struct ppo_args *a);
int ppo_skb_gro_receive(struct ppo_args *a);
int ppo_skb_segment(struct ppo_args *a);
int ppo_skb_frag_ref(struct ppo_args *a);
int ppo_skb_kfree(struct ppo_args *a);
int ppo_skb_napi_consume(struct ppo_args *a);
int ppo_skb_defer_free(struct ppo_args *a);
int ppo_stack_hold(struct ppo_args *a);
int ppo_stack_release(struct ppo_args *a);
void ppo_skb_reset(void);
void ppo_touch_skb(int skb);
void ppo_touch_live_skbs(void);
void ppo_touch_skb_pages(void);
int ppo_page_index(struct page *pg);
bool ppo_skbs_hold_pool_page(int pool);
void ppo_skb_features(char *buf, size_t cap);

/* ppo_obs.c: the observation of the last op */
size_t ppo_observe(char *buf, size_t cap, int rc);
void ppo_obs_features(char *buf, size_t cap);

#define ppo_err(fmt, ...) snprintf(ppo.err, sizeof(ppo.err), fmt, ##__VA_ARGS__)
#define ppo_result(fmt, ...) snprintf(ppo.result, sizeof(ppo.result), fmt, ##__VA_ARGS__)

#endif
