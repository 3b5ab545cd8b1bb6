/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_FILE_INTERNAL_H
#define UVIOMMU_FILE_INTERNAL_H

#include <stddef.h>

/*
 * Read a whole file (sysfs files included, whose stat size may be 0) into
 * a malloc'ed buffer. Fails with -EFBIG past max_size bytes. what names
 * the file's role in error messages ("VIOT", "topology file").
 */
int uvi_read_file(const char *path, const char *what, size_t max_size,
		     void **data, size_t *size);

#endif
