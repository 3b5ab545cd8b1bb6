/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_VIRTIO_PCI_REGS_H
#define UVIOMMU_VIRTIO_PCI_REGS_H

/*
 * Register layout of the modern virtio-pci transport (virtio 1.2, section
 * 4.1), as the driver side sees it. All fields are little-endian.
 *
 * The software device (drivers/sim) keeps its own copy of these facts on
 * purpose: a transport and a device model that shared one wrong constant
 * would agree with each other and disagree with every real device.
 */

/* PCI configuration space header (PCI Local Bus 3.0, section 6.1). */
#define UVI_PCI_CFG_STATUS 0x06
#define UVI_PCI_STATUS_CAP_LIST 0x10
#define UVI_PCI_CFG_CAP_PTR 0x34
#define UVI_PCI_CAP_ID_VENDOR 0x09
#define UVI_PCI_CAP_FIRST 0x40 /* capabilities live after the 64-byte header */
#define UVI_PCI_CAP_MAX 48     /* (256 - 64) / 4: more means a loop */

/* struct virtio_pci_cap (4.1.4): offsets inside one vendor capability. */
#define UVI_VCAP_CFG_TYPE 3
#define UVI_VCAP_BAR 4
#define UVI_VCAP_OFFSET 8
#define UVI_VCAP_LENGTH 12
#define UVI_VCAP_SIZE 16
#define UVI_VCAP_NOTIFY_MULT 16 /* struct virtio_pci_notify_cap (4.1.4.4) */
#define UVI_VCAP_NOTIFY_SIZE 20

/* cfg_type values (4.1.4). */
#define UVI_VCAP_COMMON 1
#define UVI_VCAP_NOTIFY 2
#define UVI_VCAP_ISR 3
#define UVI_VCAP_DEVICE 4
#define UVI_VCAP_PCI_CFG 5

/* struct virtio_pci_common_cfg (4.1.4.3). */
#define UVI_VCOMMON_DFSELECT 0x00
#define UVI_VCOMMON_DF 0x04
#define UVI_VCOMMON_GFSELECT 0x08
#define UVI_VCOMMON_GF 0x0c
#define UVI_VCOMMON_MSIX 0x10
#define UVI_VCOMMON_NUMQ 0x12
#define UVI_VCOMMON_STATUS 0x14
#define UVI_VCOMMON_CFGGEN 0x15
#define UVI_VCOMMON_Q_SELECT 0x16
#define UVI_VCOMMON_Q_SIZE 0x18
#define UVI_VCOMMON_Q_MSIX 0x1a
#define UVI_VCOMMON_Q_ENABLE 0x1c
#define UVI_VCOMMON_Q_NOFF 0x1e
#define UVI_VCOMMON_Q_DESC 0x20
#define UVI_VCOMMON_Q_DRIVER 0x28
#define UVI_VCOMMON_Q_DEVICE 0x30
#define UVI_VCOMMON_MIN_LEN 0x38 /* the virtio 1.0 layout; 1.2 adds 4 bytes we do not use */

/* Device status bits (2.1). */
#define UVI_VSTATUS_ACKNOWLEDGE 0x01
#define UVI_VSTATUS_DRIVER 0x02
#define UVI_VSTATUS_DRIVER_OK 0x04
#define UVI_VSTATUS_FEATURES_OK 0x08
#define UVI_VSTATUS_NEEDS_RESET 0x40
#define UVI_VSTATUS_FAILED 0x80

/* Transport feature bits this layer checks (6). */
#define UVI_VIRTIO_F_VERSION_1 32

#endif
