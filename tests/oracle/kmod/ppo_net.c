// SPDX-License-Identifier: GPL-2.0
/*
 * pporacle: netdevs with NAPI instances, DMA-capable platform devices, and the contexts an op
 * runs in. "@napi" runs the op inside a NAPI poll of the pool's NAPI instance, on the CPU that
 * polls it: the only context in which a driver may recycle directly (page_pool's alloc cache
 * is lockless and belongs to that NAPI).
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/etherdevice.h>
#include <linux/rtnetlink.h>
#include <linux/dma-mapping.h>
#include "ppo.h"

/* Every NAPI struct ever created: a pool (even destroyed, while pages are in flight) keeps
 * pointing at its napi, and netlink dumps read it, so they are only freed at module exit.
 * Per boot: a generated corpus of 500 sequences adds about 1200 NAPIs and 900 devices. */
#define PPO_GRAVE 16384
static struct ppo_napi *grave[PPO_GRAVE];
static int ngrave;
/* Every platform device ever created, for the same reason (unregistered at module exit). */
static struct platform_device *devgrave[PPO_GRAVE];
static int ndevgrave;

static netdev_tx_t ppo_xmit(struct sk_buff *skb, struct net_device *dev)
{
	dev_kfree_skb_any(skb);
	return NETDEV_TX_OK;
}

static const struct net_device_ops ppo_netdev_ops = { .ndo_start_xmit = ppo_xmit };

static void ppo_setup(struct net_device *dev)
{
	ether_setup(dev);
	dev->netdev_ops = &ppo_netdev_ops;
	dev->needs_free_netdev = true;
	eth_hw_addr_random(dev);
}

int ppo_netdev_register(struct ppo_args *a)
{
	struct ppo_netdev *nd;
	struct net_device *dev;
	int err;

	if (ppo.nnetdevs >= PPO_MAX_NETDEVS) {
		ppo_err("too many netdevs (max %d)", PPO_MAX_NETDEVS);
		return -ENOSPC;
	}
	dev = alloc_netdev(0, "ppo%d", NET_NAME_ENUM, ppo_setup);
	if (!dev)
		return -ENOMEM;
	err = register_netdev(dev);
	if (err) {
		free_netdev(dev);
		ppo_err("register_netdev: %d", err);
		return err;
	}
	nd = &ppo.netdevs[++ppo.nnetdevs];
	nd->dev = dev;
	nd->ifindex = dev->ifindex;
	nd->registered = true;
	strscpy(nd->name, dev->name, sizeof(nd->name));
	ppo_result("\"netdev\":%d,\"ifindex\":%d,\"name\":\"%s\"", ppo.nnetdevs, nd->ifindex, nd->name);
	return 0;
}

int ppo_netdev_unregister(struct ppo_args *a)
{
	int idx, i, err;
	struct ppo_netdev *nd;

	err = ppo_arg_index(a, "netdev", ppo.nnetdevs, true, &idx);
	if (err)
		return err;
	nd = &ppo.netdevs[idx];
	if (!nd->registered) {
		ppo_err("netdev %d is not registered", idx);
		return -ENODEV;
	}
	/* a driver disables its NAPIs (ndo_stop) before unregistering; say so rather than do it */
	for (i = 1; i <= ppo.nnapis; i++) {
		if (ppo.napis[i]->netdev == idx && ppo.napis[i]->enabled) {
			ppo_err("napi %d of netdev %d is still enabled: napi_disable first", i, idx);
			return -EBUSY;
		}
	}
	unregister_netdev(nd->dev);	/* pools of this netdev move to loopback here */
	nd->registered = false;
	nd->dev = NULL;			/* needs_free_netdev: freed by unregister */
	for (i = 1; i <= ppo.nnapis; i++)
		if (ppo.napis[i]->netdev == idx)
			ppo.napis[i]->added = false;	/* free_netdev deleted them */
	for (i = 1; i <= ppo.npools; i++)
		if (ppo.pools[i].netdev == idx)
			ppo_touch_pool(i);
	return 0;
}

static int ppo_poll(struct napi_struct *n, int budget)
{
	struct ppo_napi *pn = container_of(n, struct ppo_napi, napi);

	if (pn->pending) {
		pn->ran_cpu = smp_processor_id();
		ppo.in_serving_softirq = in_serving_softirq();
		pn->ret = pn->fn(pn->arg);
		pn->pending = false;
		complete(&pn->done);
	}
	napi_complete_done(n, 0);
	return 0;
}

int ppo_napi_add(struct ppo_args *a)
{
	int nd, err;
	struct ppo_napi *pn;

	err = ppo_arg_index(a, "netdev", ppo.nnetdevs, true, &nd);
	if (err)
		return err;
	if (!ppo.netdevs[nd].registered) {
		ppo_err("netdev %d is not registered", nd);
		return -ENODEV;
	}
	if (ppo.nnapis >= PPO_MAX_NAPIS || ngrave >= PPO_GRAVE) {
		ppo_err("too many napis (max %d per sequence, %d per boot)", PPO_MAX_NAPIS, PPO_GRAVE);
		return -ENOSPC;
	}
	pn = kzalloc(sizeof(*pn), GFP_KERNEL);
	if (!pn)
		return -ENOMEM;
	init_completion(&pn->done);
	pn->netdev = nd;
	netif_napi_add(ppo.netdevs[nd].dev, &pn->napi, ppo_poll);
	pn->added = true;
	grave[ngrave++] = pn;
	ppo.napis[++ppo.nnapis] = pn;
	ppo_result("\"napi\":%d,\"napi_id\":%u", ppo.nnapis, pn->napi.napi_id);
	return 0;
}

static int napi_arg(struct ppo_args *a, struct ppo_napi **out, int *idx)
{
	int err = ppo_arg_index(a, "napi", ppo.nnapis, true, idx);

	if (err)
		return err;
	*out = ppo.napis[*idx];
	if (!(*out)->added) {
		ppo_err("napi %d was deleted", *idx);
		return -ENOENT;
	}
	return 0;
}

int ppo_napi_enable(struct ppo_args *a)
{
	struct ppo_napi *pn;
	int idx, err = napi_arg(a, &pn, &idx);

	if (err)
		return err;
	if (pn->enabled) {
		ppo_err("napi %d is already enabled", idx);
		return -EALREADY;
	}
	napi_enable(&pn->napi);
	pn->enabled = true;
	return 0;
}

int ppo_napi_disable(struct ppo_args *a)
{
	struct ppo_napi *pn;
	int idx, err = napi_arg(a, &pn, &idx);

	if (err)
		return err;
	if (!pn->enabled) {
		ppo_err("napi %d is not enabled", idx);
		return -EALREADY;
	}
	napi_disable(&pn->napi);
	pn->enabled = false;
	return 0;
}

int ppo_napi_del(struct ppo_args *a)
{
	struct ppo_napi *pn;
	int idx, err = napi_arg(a, &pn, &idx);

	if (err)
		return err;
	if (pn->enabled) {
		ppo_err("napi %d is enabled: napi_disable first", idx);
		return -EBUSY;
	}
	netif_napi_del(&pn->napi);
	pn->added = false;
	return 0;
}

int ppo_add_device(struct ppo_args *a)
{
	struct platform_device_info pdi = {
		.name = "pporacle-dma", .id = PLATFORM_DEVID_AUTO, .dma_mask = DMA_BIT_MASK(64),
	};
	struct platform_device *pd;

	if (ppo.ndevices >= PPO_MAX_DEVICES || ndevgrave >= PPO_GRAVE) {
		ppo_err("too many devices (max %d per sequence, %d per boot)", PPO_MAX_DEVICES, PPO_GRAVE);
		return -ENOSPC;
	}
	pd = platform_device_register_full(&pdi);
	if (IS_ERR(pd)) {
		ppo_err("platform_device_register_full: %ld", PTR_ERR(pd));
		return PTR_ERR(pd);
	}
	ppo.devices[++ppo.ndevices] = pd;
	devgrave[ndevgrave++] = pd;
	ppo_result("\"device\":%d,\"name\":\"%s\",\"dma_mask\":\"0x%llx\"", ppo.ndevices,
		   dev_name(&pd->dev), (unsigned long long)dma_get_mask(&pd->dev));
	return 0;
}

int ppo_run_ctx(enum ppo_ctx ctx, int napi, int (*fn)(void *), void *arg)
{
	struct ppo_napi *pn;
	int ret;

	switch (ctx) {
	case PPO_CTX_PROCESS:
		ppo.ran_cpu = raw_smp_processor_id();
		ppo.in_serving_softirq = in_serving_softirq();
		return fn(arg);
	case PPO_CTX_BH:
		local_bh_disable();
		ppo.ran_cpu = smp_processor_id();
		ppo.in_serving_softirq = in_serving_softirq();
		ret = fn(arg);
		local_bh_enable();
		return ret;
	case PPO_CTX_NAPI:
		if (napi <= 0 || napi > ppo.nnapis) {
			ppo_err("@napi: the op's pool has no napi");
			return -EINVAL;
		}
		pn = ppo.napis[napi];
		if (!pn->enabled) {
			ppo_err("@napi: napi %d is not enabled, its poll cannot run", napi);
			return -ENETDOWN;
		}
		reinit_completion(&pn->done);
		pn->fn = fn;
		pn->arg = arg;
		pn->ret = 0;
		pn->pending = true;
		local_bh_disable();
		napi_schedule(&pn->napi);
		local_bh_enable();	/* NET_RX softirq runs here, on this CPU */
		if (!wait_for_completion_timeout(&pn->done, HZ)) {
			pn->pending = false;
			ppo_err("@napi: the poll of napi %d did not run within 1 s", napi);
			return -ETIMEDOUT;
		}
		ppo.ran_cpu = pn->ran_cpu;
		return pn->ret;
	}
	return -EINVAL;
}

/* Undo everything the sequence did to netdevs and NAPIs (pools are gone already). */
void ppo_net_reset(void)
{
	int i;

	for (i = 1; i <= ppo.nnapis; i++) {
		struct ppo_napi *pn = ppo.napis[i];

		if (pn->enabled)
			napi_disable(&pn->napi);
		pn->enabled = false;
		if (pn->added && ppo.netdevs[pn->netdev].registered)
			netif_napi_del(&pn->napi);
		pn->added = false;
		ppo.napis[i] = NULL;
	}
	ppo.nnapis = 0;
	for (i = 1; i <= ppo.nnetdevs; i++) {
		if (ppo.netdevs[i].registered)
			unregister_netdev(ppo.netdevs[i].dev);
		memset(&ppo.netdevs[i], 0, sizeof(ppo.netdevs[i]));
	}
	ppo.nnetdevs = 0;
	/* platform devices stay registered: a destroyed DMA pool unmaps against its device when
	 * its last page comes back, possibly after this reset; they go at module exit */
	for (i = 1; i <= ppo.ndevices; i++)
		ppo.devices[i] = NULL;
	ppo.ndevices = 0;
}

void ppo_net_exit(void)
{
	int i;

	ppo_net_reset();
	for (i = 0; i < ndevgrave; i++)
		platform_device_unregister(devgrave[i]);
	ndevgrave = 0;
	/* grave[] is not freed: pools that are still in flight may point into it */
}
