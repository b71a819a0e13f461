// SPDX-License-Identifier: GPL-2.0
/*
 * ppcrash: the crash stories of the kernel oracle (tests/oracle/README.md, "Crash stories").
 *
 * A PCI driver for QEMU's edu device (1234:11e8). Its probe creates a page_pool with
 * PP_FLAG_DMA_MAP on the PCI device, so every page is DMA-mapped through the device's IOMMU
 * domain (or dma-direct when there is none), allocates `npages` pages, gives all but `nhold`
 * back to the pool and keeps those `nhold` in a module-global table: pages a socket still holds
 * when the driver goes away. The driver's remove() destroys the pool with those pages out, as a
 * NIC driver's teardown does. Later the test returns them (debugfs `ctl`: `return`) to the
 * destroyed pool, whose release worker frees it once the last one is back; on a kernel without
 * DMA tracking that return unmaps each page for a device that may be gone.
 *
 * debugfs /sys/kernel/debug/ppcrash/ctl:
 *   write "return"  page_pool_put_full_page() of every held page (process context, not direct)
 *   read            one line: state, pool pointer (hashed as the tracepoints print it), held
 *                   pages and how many still carry a DMA address, and the device's DMA path
 *                   while the module knows the struct device is alive
 * Parameters: npages (64), nhold (32), dmabits (DMA mask, 28 = edu's default), holdref (take
 * a reference on the PCI device at probe so that it outlives its removal; default 0, as a real
 * driver's socket pages hold none).
 */
#include <linux/module.h>
#include <linux/version.h>
#include <linux/pci.h>
#include <linux/debugfs.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#include <net/page_pool/types.h>
#include <net/page_pool/helpers.h>
#else
#include <net/page_pool.h>
#endif
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 12, 0)
#include <linux/dma-map-ops.h>
#endif

#define PPC_MAXHOLD 256

static int npages = 64;
module_param(npages, int, 0444);
MODULE_PARM_DESC(npages, "pages allocated at probe");
static int nhold = 32;
module_param(nhold, int, 0444);
MODULE_PARM_DESC(nhold, "of those, pages kept outside the driver");
static int dmabits = 28;
module_param(dmabits, int, 0444);
MODULE_PARM_DESC(dmabits, "DMA mask in bits (edu's default is 28)");
static bool holdref;
module_param(holdref, bool, 0444);
MODULE_PARM_DESC(holdref, "keep a reference on the PCI device until module exit");

static DEFINE_MUTEX(ppc_lock);
static struct page_pool *ppc_pool;     /* valid while pages are out, even after destroy */
static struct page *ppc_held[PPC_MAXHOLD];
static struct page *ppc_back[PPC_MAXHOLD];  /* probe's scratch: the driver's own pages */
static int ppc_nheld;
static bool ppc_bound, ppc_destroyed;
static struct pci_dev *ppc_pdev;       /* dereferenced only while bound, or with holdref */
static struct dentry *ppc_dir;

/*
 * How the device's DMA calls are routed: 6.1 through its dma_map_ops (iommu_dma_ops, or NULL
 * for dma-direct); 6.12 and later call iommu-dma directly when a device flag says so
 * (dev->dma_iommu on 6.12, the DEV_FLAG_DMA_IOMMU accessor on 7.x).
 */
static int ppc_dma_path(struct device *dev, char *buf, int len)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0)
	return scnprintf(buf, len, "dma_iommu=%d", (int)dev_dma_iommu(dev));
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#ifdef CONFIG_IOMMU_DMA
	return scnprintf(buf, len, "dma_iommu=%d", (int)dev->dma_iommu);
#else
	return scnprintf(buf, len, "dma_ops=%ps", get_dma_ops(dev));
#endif
#else
	return scnprintf(buf, len, "dma_ops=%ps", get_dma_ops(dev));
#endif
}

static void ppc_destroy(const char *why)
{
	if (!ppc_pool || ppc_destroyed)
		return;
	pr_info("ppcrash: page_pool_destroy(%p) from %s, %d pages held outside the driver\n",
		ppc_pool, why, ppc_nheld);
	page_pool_destroy(ppc_pool);
	ppc_destroyed = true;
}

static int ppc_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct page_pool_params pp = {};
	struct page_pool *pool;
	char path[64];
	int err, i, nback = 0;

	if (npages < 0 || nhold < 0 || nhold > npages || nhold > PPC_MAXHOLD ||
	    npages - nhold > PPC_MAXHOLD)
		return -EINVAL;
	mutex_lock(&ppc_lock);
	if (ppc_pool) {
		/* the previous pool still has pages out: one story per boot */
		mutex_unlock(&ppc_lock);
		return -EBUSY;
	}
	mutex_unlock(&ppc_lock);
	err = pci_enable_device(pdev);
	if (err)
		return err;
	err = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(dmabits));
	if (err)
		goto disable;
	pci_set_master(pdev);

	pp.flags = PP_FLAG_DMA_MAP;
	pp.order = 0;
	pp.pool_size = 256;
	pp.nid = NUMA_NO_NODE;
	pp.dev = &pdev->dev;
	pp.dma_dir = DMA_FROM_DEVICE;
	pool = page_pool_create(&pp);
	if (IS_ERR(pool)) {
		err = PTR_ERR(pool);
		goto disable;
	}

	mutex_lock(&ppc_lock);
	ppc_pool = pool;
	ppc_pdev = pdev;
	ppc_bound = true;
	ppc_destroyed = false;
	ppc_nheld = 0;
	for (i = 0; i < npages; i++) {
		struct page *page = page_pool_dev_alloc_pages(pool);

		if (!page) {
			pr_err("ppcrash: page_pool_dev_alloc_pages failed after %d pages\n", i);
			break;
		}
		if (ppc_nheld < nhold)
			ppc_held[ppc_nheld++] = page;
		else
			ppc_back[nback++] = page;
	}
	/* the driver's own pages go back to the pool (its rx ring refilled, say) */
	for (i = 0; i < nback; i++)
		page_pool_put_full_page(pool, ppc_back[i], false);
	if (holdref)
		pci_dev_get(pdev);
	mutex_unlock(&ppc_lock);

	ppc_dma_path(&pdev->dev, path, sizeof(path));
	dev_info(&pdev->dev,
		 "ppcrash: bound, page_pool %p PP_FLAG_DMA_MAP, %d pages allocated, %d held, %d returned; iommu_group=%d dma_mask=%d bits %s\n",
		 pool, ppc_nheld + nback, ppc_nheld, nback,
		 pdev->dev.iommu_group ? iommu_group_id(pdev->dev.iommu_group) : -1, dmabits, path);
	return 0;

disable:
	pci_disable_device(pdev);
	return err;
}

static void ppc_remove(struct pci_dev *pdev)
{
	dev_info(&pdev->dev, "ppcrash: remove()\n");
	mutex_lock(&ppc_lock);
	ppc_destroy("remove()");
	ppc_bound = false;
	mutex_unlock(&ppc_lock);
	pci_disable_device(pdev);
}

static const struct pci_device_id ppc_ids[] = {
	{ PCI_DEVICE(0x1234, 0x11e8) },
	{ 0 }
};
MODULE_DEVICE_TABLE(pci, ppc_ids);

static struct pci_driver ppc_driver = {
	.name = "ppcrash",
	.id_table = ppc_ids,
	.probe = ppc_probe,
	.remove = ppc_remove,
};

static void ppc_return_held(void)
{
	int n = ppc_nheld;

	pr_info("ppcrash: returning %d held pages (pool %s, driver %s)\n", n,
		ppc_destroyed ? "destroyed" : "live", ppc_bound ? "bound" : "gone");
	while (ppc_nheld > 0) {
		struct page *page = ppc_held[--ppc_nheld];

		ppc_held[ppc_nheld] = NULL;
		page_pool_put_full_page(ppc_pool, page, false);
	}
	pr_info("ppcrash: returned %d pages\n", n);
	if (ppc_destroyed)
		ppc_pool = NULL;  /* its release worker frees it now that nothing is out */
}

static ssize_t ppc_ctl_write(struct file *f, const char __user *ubuf, size_t len, loff_t *pos)
{
	char buf[32];
	ssize_t ret = len;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = 0;
	strim(buf);
	mutex_lock(&ppc_lock);
	if (!strcmp(buf, "return")) {
		if (ppc_pool)
			ppc_return_held();
		else
			ret = -ENODEV;
	} else {
		ret = -EINVAL;
	}
	mutex_unlock(&ppc_lock);
	return ret;
}

static ssize_t ppc_ctl_read(struct file *f, char __user *ubuf, size_t len, loff_t *pos)
{
	char *buf;
	int n = 0, i, mapped = 0;
	ssize_t ret;

	buf = kzalloc(512, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	mutex_lock(&ppc_lock);
	for (i = 0; i < ppc_nheld; i++)
		mapped += page_pool_get_dma_addr(ppc_held[i]) != 0;
	n += scnprintf(buf + n, 512 - n, "bound=%d destroyed=%d pool=%p held=%d held_with_dma_addr=%d",
		       ppc_bound, ppc_destroyed, ppc_pool, ppc_nheld, mapped);
	if (ppc_pdev && (ppc_bound || holdref)) {
		n += scnprintf(buf + n, 512 - n, " ");
		n += ppc_dma_path(&ppc_pdev->dev, buf + n, 512 - n);
		n += scnprintf(buf + n, 512 - n, " iommu_group=%s",
			       ppc_pdev->dev.iommu_group ? "set" : "none");
	}
	n += scnprintf(buf + n, 512 - n, "\n");
	mutex_unlock(&ppc_lock);
	ret = simple_read_from_buffer(ubuf, len, pos, buf, n);
	kfree(buf);
	return ret;
}

static const struct file_operations ppc_ctl_fops = {
	.owner = THIS_MODULE,
	.read = ppc_ctl_read,
	.write = ppc_ctl_write,
};

static int __init ppc_init(void)
{
	ppc_dir = debugfs_create_dir("ppcrash", NULL);
	debugfs_create_file("ctl", 0600, ppc_dir, NULL, &ppc_ctl_fops);
	return pci_register_driver(&ppc_driver);
}

static void __exit ppc_exit(void)
{
	pci_unregister_driver(&ppc_driver);
	debugfs_remove_recursive(ppc_dir);
	mutex_lock(&ppc_lock);
	if (ppc_nheld)
		pr_warn("ppcrash: unloading with %d pages held: they stay out\n", ppc_nheld);
	if (holdref && ppc_pdev)
		pci_dev_put(ppc_pdev);
	mutex_unlock(&ppc_lock);
}

module_init(ppc_init);
module_exit(ppc_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ppsim oracle: page_pool pages held outside a PCI driver across its unbind or removal");
