/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * viommu_probe_endpoint(): PROBE an endpoint without attaching it, for
 * tools that only want to know its reserved regions (uviommu-info
 * device). A PROBE names only an endpoint and is sent before the endpoint
 * is attached (virtio 1.2, 5.13.6.7); nothing requires an ATTACH after it.
 * So the device is left as it was: no domain, no ATTACH, no DETACH. The
 * result is kept like the one of a first attach, which then does not
 * probe again.
 */
#include <errno.h>

#include "../../lib/common/error_internal.h"
#include "dev.h"

int viommu_probe_endpoint(struct viommu_dev *dev, uint32_t endpoint_id)
{
	struct uvi_ep *ep;
	int rc;

	if (!dev)
		return uvi_fail(-EINVAL, "probe_endpoint: NULL device");
	pthread_mutex_lock(&dev->lock);
	rc = uvi_check_usable(dev);
	if (!rc)
		rc = uvi_ep_get(dev, endpoint_id, &ep);
	if (!rc && !ep->probed)
		rc = uvi_probe_endpoint(dev, ep);
	if (!rc)
		rc = (int)ep->n_resv;
	pthread_mutex_unlock(&dev->lock);
	return rc;
}
