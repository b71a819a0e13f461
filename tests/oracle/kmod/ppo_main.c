// SPDX-License-Identifier: GPL-2.0
/*
 * pporacle: ppsim's kernel oracle. Userspace (tests/oracle/ppo-run.c) writes one op line at a
 * time to /sys/kernel/debug/pporacle/ctl; the module runs it on the real page_pool API and
 * keeps the observation of the kernel's state after it, which /sys/kernel/debug/pporacle/obs
 * returns (one JSON object). /sys/kernel/debug/pporacle/features describes what this build
 * of the module can express on this kernel. The op "reset" gives back everything the
 * sequence holds, so that one boot can run many sequences.
 */
#include <linux/module.h>
#include <linux/debugfs.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/mutex.h>
#include "ppo.h"

struct ppo_state ppo;

#define OBS_CAP (512 * 1024)
static char *obs_buf;
static size_t obs_len;
static DEFINE_MUTEX(ppo_lock);
static struct dentry *ppo_dir;

static int op_reset(struct ppo_args *a)
{
	ppo_skb_reset();	/* skbs first: they hold pool pages */
	ppo_pool_reset();
	ppo_net_reset();
	return 0;
}

static int op_observe(struct ppo_args *a)
{
	int i;

	for (i = 1; i <= ppo.npages; i++)
		if (ppo.pages[i].owned || ppo.pages[i].extra_refs)
			ppo_touch_page(i);
	ppo_touch_live_skbs();	/* and every skb held, with its pages */
	return 0;
}

struct ppo_op {
	const char *name;
	int (*fn)(struct ppo_args *a);
	const char *fields;	/* the keys it takes, comma-separated */
};

static const struct ppo_op ops[] = {
	{ "netdev_register", ppo_netdev_register, "" },
	{ "netdev_unregister", ppo_netdev_unregister, "netdev" },
	{ "napi_add", ppo_napi_add, "netdev" },
	{ "napi_enable", ppo_napi_enable, "napi" },
	{ "napi_disable", ppo_napi_disable, "napi" },
	{ "napi_del", ppo_napi_del, "napi" },
	{ "add_device", ppo_add_device, "" },
	{ "page_pool_create", ppo_pool_create,
	  "device,flags,order,pool_size,nid,dma_dir,max_len,offset,napi,netdev,strategy" },
	{ "page_pool_destroy", ppo_pool_destroy, "pool" },
	{ "page_pool_alloc_pages", ppo_pool_alloc, "pool,count" },
	{ "page_pool_put_page", ppo_pool_put, "pool,page,dma_sync_size,allow_direct" },
	{ "page_pool_put_page_bulk", ppo_pool_put_bulk, "pages" },
	{ "page_pool_update_nid", ppo_pool_update_nid, "pool,nid" },
	{ "page_pool_disable_direct_recycling", ppo_pool_disable_direct, "pool" },
	{ "get_page", ppo_page_get, "page" },
	{ "put_page", ppo_page_put, "page,force" },
	{ "skb_build", ppo_skb_build, "frags,head,recycle" },
	{ "skb_clone", ppo_skb_clone, "skb" },
	{ "pskb_expand_head", ppo_skb_expand_head, "skb" },
	{ "skb_split", ppo_skb_split, "skb,at,cut" },
	{ "skb_shift", ppo_skb_shift, "tgt,skb,count,partial" },
	{ "skb_try_coalesce", ppo_skb_try_coalesce, "to,from,racing_clone" },
	{ "skb_gro_receive", ppo_skb_gro_receive, "p,skb" },
	{ "skb_segment", ppo_skb_segment, "skb" },
	{ "skb_frag_ref", ppo_skb_frag_ref, "skb,frag" },
	{ "kfree_skb", ppo_skb_kfree, "skb" },
	{ "napi_consume_skb", ppo_skb_napi_consume, "skb,budget" },
	{ "skb_attempt_defer_free", ppo_skb_defer_free, "skb" },
	{ "stack_hold", ppo_stack_hold, "skb,holder,cpu" },
	{ "stack_release", ppo_stack_release, "holder,cpu,count" },
	{ "observe", op_observe, "" },
	{ "reset", op_reset, "" },
};

static bool field_ok(const char *fields, const char *key)
{
	size_t n = strlen(key);
	const char *p = fields;

	while ((p = strstr(p, key)) != NULL) {
		if ((p == fields || p[-1] == ',') && (p[n] == ',' || p[n] == 0))
			return true;
		p += n;
	}
	return false;
}

static int run_line(char *line)
{
	struct ppo_args a;
	const char *unused;
	int i, err;

	err = ppo_parse(line, &a);
	if (err) {
		if (!ppo.err[0])
			ppo_err("empty op line");
		return err;
	}
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		if (strcmp(ops[i].name, a.name))
			continue;
		for (err = 0; err < a.n; err++) {
			if (!field_ok(ops[i].fields, a.key[err])) {
				ppo_err("%s has no field %s (fields: %s)", a.name, a.key[err], ops[i].fields);
				return -EINVAL;
			}
		}
		err = ops[i].fn(&a);
		unused = ppo_unused_arg(&a);
		if (!err && unused)
			ppo_err("warning: field %s was not used", unused);
		return err;
	}
	ppo_err("unknown op %s", a.name);
	return -EOPNOTSUPP;
}

static ssize_t ctl_write(struct file *f, const char __user *ubuf, size_t len, loff_t *ppos)
{
	char *line;
	int rc;

	if (len > 4096)
		return -E2BIG;
	line = memdup_user_nul(ubuf, len);
	if (IS_ERR(line))
		return PTR_ERR(line);
	mutex_lock(&ppo_lock);
	ppo.ntouched = 0;
	ppo.ntouched_pools = 0;
	ppo.ntouched_skbs = 0;
	ppo.err[0] = 0;
	ppo.result[0] = 0;
	ppo.ran_cpu = -1;
	ppo.in_serving_softirq = false;
	rc = run_line(line);
	obs_len = ppo_observe(obs_buf, OBS_CAP, rc);
	mutex_unlock(&ppo_lock);
	kfree(line);
	return len;	/* the op's own result is in the observation */
}

static ssize_t obs_read(struct file *f, char __user *ubuf, size_t len, loff_t *ppos)
{
	ssize_t r;

	mutex_lock(&ppo_lock);
	r = simple_read_from_buffer(ubuf, len, ppos, obs_buf, obs_len);
	mutex_unlock(&ppo_lock);
	return r;
}

static ssize_t features_read(struct file *f, char __user *ubuf, size_t len, loff_t *ppos)
{
	char buf[1024];

	ppo_obs_features(buf, sizeof(buf));
	return simple_read_from_buffer(ubuf, len, ppos, buf, strlen(buf));
}

static const struct file_operations ctl_fops = { .owner = THIS_MODULE, .write = ctl_write };
static const struct file_operations obs_fops = { .owner = THIS_MODULE, .read = obs_read };
static const struct file_operations features_fops = { .owner = THIS_MODULE, .read = features_read };

static int __init ppo_init(void)
{
	obs_buf = vzalloc(OBS_CAP);
	ppo.pages = vzalloc(sizeof(*ppo.pages) * (PPO_MAX_PAGES + 1));
	ppo.skbs = vzalloc(sizeof(*ppo.skbs) * (PPO_MAX_SKBS + 1));
	if (!obs_buf || !ppo.pages || !ppo.skbs) {
		vfree(obs_buf);
		vfree(ppo.pages);
		vfree(ppo.skbs);
		return -ENOMEM;
	}
	skb_queue_head_init(&ppo.holder);
	ppo_dir = debugfs_create_dir("pporacle", NULL);
	debugfs_create_file("ctl", 0200, ppo_dir, NULL, &ctl_fops);
	debugfs_create_file("obs", 0400, ppo_dir, NULL, &obs_fops);
	debugfs_create_file("features", 0400, ppo_dir, NULL, &features_fops);
	return 0;
}

static void __exit ppo_exit(void)
{
	debugfs_remove_recursive(ppo_dir);
	mutex_lock(&ppo_lock);
	ppo_skb_reset();
	ppo_pool_reset();
	ppo_net_exit();
	mutex_unlock(&ppo_lock);
	vfree(ppo.skbs);
	vfree(ppo.pages);
	vfree(obs_buf);
}

module_init(ppo_init);
module_exit(ppo_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ppsim kernel oracle: runs op sequences on the real page_pool and skb APIs");
