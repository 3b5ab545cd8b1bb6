# shellcheck shell=bash
# tests/vm/dpdk.sh - Debian's DPDK 22.11 in the QEMU guest. Source it after lib.sh.
#
#   dpdk_guest_specs BUILD         print HOST:GUEST specs for vm_build_initramfs: dpdk-testpmd
#                                  and its libraries, the e1000 PMD and the ring mempool driver
#                                  in EAL's driver directory, libgcc_s (glibc loads it for
#                                  thread exit), the plugin where EAL's -d accepts it
#                                  ($DPDK_GUEST_PLUGIN) and the escape test with its libraries
#   dpdk_guest_setup               print the guest shell lines DPDK needs: / not world-writable,
#                                  /var/run, hugetlbfs
#                                  mounted, DPDK_GUEST_HUGEPAGES 2 MiB pages reserved via sysfs
#   dpdk_machine_args              set array DPDK_MACHINE: the virtio-iommu at 00:02.0 and two
#                                  e1000e (00:03.0, 00:04.0) on one QEMU hub, so that a burst
#                                  sent by one loops through the other without a generator
#   dpdk_guest_memory ARRAYNAME    replace -m in the named QEMU argument array by
#                                  $DPDK_GUEST_RAM (DPDK needs more than lib.sh's 1 GiB)
#
# Host packages: dpdk-dev (dpdk-testpmd), dpdk and libdpdk-dev (the plugin's build).

DPDK_PMD_DIR=/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0
# EAL refuses a -d file under a world-writable directory (/tmp): a root-owned 0755 path.
DPDK_GUEST_PLUGIN=/usr/lib/x86_64-linux-gnu/uviommu/librte_uviommu.so
DPDK_GUEST_RAM=${DPDK_GUEST_RAM:-2G}
DPDK_GUEST_HUGEPAGES=${DPDK_GUEST_HUGEPAGES:-512}

dpdk_guest_specs() {
    local build=$1 testpmd=/usr/bin/dpdk-testpmd lib
    local plugin=$build/drivers/dpdk/librte_uviommu.so escape=$build/drivers/dpdk/uviommu-dpdk-escape
    [[ -x $testpmd ]] || { vm_err "no $testpmd (apt-get install dpdk-dev)"; return 1; }
    for lib in "$plugin" "$escape"; do
        [[ -e $lib ]] || { vm_err "$lib is not built (meson setup $build && ninja -C $build)"; return 1; }
    done
    vm_binary_specs "$testpmd" "$escape" || return 1
    # EAL loads every *.so of its driver directory: only what the guest needs, and never a
    # library testpmd links already (a second copy would register its bus twice).
    printf '%s:%s\n' "$DPDK_PMD_DIR/librte_net_e1000.so.23" "$DPDK_PMD_DIR/librte_net_e1000.so" \
        "$DPDK_PMD_DIR/librte_mempool_ring.so.23" "$DPDK_PMD_DIR/librte_mempool_ring.so" \
        "/lib/x86_64-linux-gnu/libgcc_s.so.1" "/lib/x86_64-linux-gnu/libgcc_s.so.1" \
        "$plugin" "$DPDK_GUEST_PLUGIN"
    ldd "$plugin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 ":/lib/x86_64-linux-gnu/" $1 }'
}

dpdk_guest_setup() {
    # The initramfs root is world-writable, and EAL refuses to load anything below such a
    # directory (even its own driver directory).
    cat <<GUEST
chmod 755 /
mkdir -p /var && { [ -e /var/run ] || ln -s /run /var/run; }
mkdir -p /dev/hugepages /run
mount -t hugetlbfs none /dev/hugepages
echo $DPDK_GUEST_HUGEPAGES > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
GUEST
}

dpdk_machine_args() {
    # shellcheck disable=SC2034 # the output
    DPDK_MACHINE=(-device virtio-iommu-pci,addr=02.0
        -netdev hubport,id=h0,hubid=0 -device e1000e,addr=03.0,netdev=h0
        -netdev hubport,id=h1,hubid=0 -device e1000e,addr=04.0,netdev=h1)
}

dpdk_guest_memory() {
    local -n args=$1
    local i
    for ((i = 0; i + 1 < ${#args[@]}; i++)); do
        if [[ ${args[i]} == -m ]]; then args[i + 1]=$DPDK_GUEST_RAM; fi
    done
}
