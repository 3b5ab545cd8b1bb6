# shellcheck shell=bash
# tests/vm/lib.sh - boot a throwaway QEMU TCG guest (x86_64 q35). Source it, don't run it.
#
#   vm_fetch_kernel                        print the path of a cached guest vmlinuz
#                                          (Debian's cloud kernel; downloaded once)
#   vm_build_initramfs OUT INIT [F...]     busybox-static initramfs (cpio.gz) at OUT: /init mounts
#                                          proc, sys, devtmpfs, runs INIT with sh, then powers off.
#                                          Each F is HOST_PATH[:GUEST_PATH] (default /basename).
#   vm_base_args KERNEL INITRD [APPEND]    set array VM_ARGS to the standard q35 TCG boot arguments
#   vm_boot TIMEOUT_S LOGFILE ARGS...      run "$VM_QEMU ARGS..." under a hard timeout, serial
#                                          console to LOGFILE. TIMEOUT_S "" means $VM_TIMEOUT or 120.
#                                          Returns 0 ok, 2 usage, 3 timeout, 4 qemu failed,
#                                          5 guest kernel panic, 6 guest INIT script exited non-zero.
#   vm_quote WORD...                       print WORDs as one copy-pasteable shell command line
#   vm_binary_specs BIN...                 print HOST:GUEST specs for vm_build_initramfs: each BIN
#                                          in /usr/bin and every shared library it loads (ldd)
#   vm_module_specs KERNEL DIR MOD...      print HOST:GUEST specs for vm_build_initramfs of the
#                                          modules MOD (e.g. drivers/uio/uio) of the cloud KERNEL
#                                          from vm_fetch_kernel; a .ko.xz is unpacked into DIR
#   vm_run_guest BUILD SCRIPT LOG ARGS...  boot the standard guest with uviommu's tools from BUILD
#                                          in /usr/bin, run SCRIPT as init, extra QEMU ARGS; the
#                                          serial console (CR stripped) ends up in LOG
#
# Reading the results. The guest scripts print each step as "@@BEGIN NAME@@", its output, then
# "@@END NAME <exit status>@@"; these read the console log named by VM_LOG and count checks in
# VM_PASSED, VM_FAILED and VM_SKIPPED:
#   vm_block NAME                          what the guest printed for NAME
#   vm_block_rc NAME                       NAME's exit status
#   vm_check WHAT GOT WANT                 "  ok    WHAT" if GOT is WANT, else a FAIL with both
#   vm_skip WHY...                         "  SKIP  WHY..."
#   vm_smoke_checks NAME [LABEL]           one check per "CHECK ok|FAIL <what>" line that NAME
#                                          (a guest/*_smoke program) printed, labelled LABEL
#                                          (default NAME), then one for its exit status
#   vm_summary PREFIX                      "PREFIX: N passed, N failed[, N skipped]"; status 0
#                                          only if nothing failed
#
# Environment: UVIOMMU_CACHE (default ~/.cache/uviommu), QEMU (default qemu-system-x86_64),
# VM_KERNEL (use this vmlinuz instead of fetching), VM_BUSYBOX (default /bin/busybox, must be
# static), VM_TIMEOUT (default boot timeout in seconds, 120).
# Host packages: qemu-system-x86 busybox-static cpio (and apt for the kernel).
# Every function that needs temporary files runs in a subshell with its own cleanup trap.

VM_QEMU=${QEMU:-qemu-system-x86_64}
VM_KERNEL_META=linux-image-cloud-amd64
# Printed by the generated /init after the INIT script returns: "@@VM-INIT-EXIT <status>@@".
VM_EXIT_MARK=@@VM-INIT-EXIT
# Printed by the generated /init before it runs the INIT script: the guest's userspace is up.
VM_START_MARK=@@VM-INIT-START@@

vm_err() { printf 'vm: %s\n' "$*" >&2; }

# vm_show_log PREFIX < LOG: console text made safe for a terminal (no escape codes), prefixed.
vm_show_log() {
    sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b.//g' | tr -d '\000-\010\013-\037\177' |
        awk -v p="$1" '{ print p $0 }' >&2
}

vm_need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 && continue
        vm_err "missing host command '$c' (apt-get install qemu-system-x86 busybox-static cpio)"
        return 1
    done
}

vm_cache_dir() { printf '%s\n' "${UVIOMMU_CACHE:-${HOME:?HOME is not set}/.cache/uviommu}"; }

vm_quote() {
    local w IFS=' ' q=()
    for w in "$@"; do
        if [[ -n $w && $w != *[!A-Za-z0-9_./,=:@%+-]* ]]; then
            q+=("$w")
        else
            q+=("'${w//\'/\'\\\'\'}'")
        fi
    done
    printf '%s\n' "${q[*]}"
}

vm_fetch_kernel() (
    set -euo pipefail
    if [[ -n ${VM_KERNEL:-} ]]; then
        [[ -r $VM_KERNEL ]] || { vm_err "VM_KERNEL=$VM_KERNEL is not readable"; exit 1; }
        printf '%s\n' "$VM_KERNEL"
        exit 0
    fi
    vm_need apt-cache apt-get dpkg flock
    local kdir pkg ver dir
    kdir="$(vm_cache_dir)/kernels"
    mkdir -p "$kdir"

    pkg=$(apt-cache depends "$VM_KERNEL_META" 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }') || pkg=
    ver=
    if [[ -n $pkg ]]; then
        ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null |
            awk '$1 == "Version:" { print $2; exit }') || ver=
    fi
    if [[ -z $pkg || -z $ver ]]; then
        # No usable apt lists (offline, or apt-get update never ran): fall back to the cache.
        local done_marks=("$kdir"/*/.complete) last
        if [[ -e ${done_marks[0]} ]]; then
            last=$(printf '%s\n' "${done_marks[@]}" | sort -V | tail -n 1)
            dir=${last%/.complete}
            vm_err "apt cannot resolve $VM_KERNEL_META; using cached ${dir##*/}"
        else
            vm_err "apt cannot resolve $VM_KERNEL_META to a kernel package and nothing is cached" \
                "in $kdir (run 'apt-get update' first, or set VM_KERNEL=/path/to/vmlinuz)"
            exit 1
        fi
    else
        dir="$kdir/${pkg}_${ver}"
    fi

    if [[ ! -e $dir/.complete ]]; then
        exec 9>"$kdir/.lock"
        flock -w 900 9 || { vm_err "timed out waiting for the lock $kdir/.lock"; exit 1; }
        if [[ ! -e $dir/.complete ]]; then
            local tmp
            tmp=$(mktemp -d "$kdir/.fetch.XXXXXX")
            trap 'rm -rf -- "$tmp"' EXIT
            chmod 755 "$tmp" # lets apt's _apt user write there (no "unsandboxed" warning)
            vm_err "fetching guest kernel $pkg=$ver into $dir ..."
            if ! (cd "$tmp" && apt-get download -q "$pkg=$ver") >"$tmp/apt.log" 2>&1; then
                vm_err "'apt-get download $pkg=$ver' failed (try 'apt-get update'):"
                sed 's/^/  apt: /' "$tmp/apt.log" >&2
                exit 1
            fi
            local debs=("$tmp"/*.deb)
            if [[ ! -e ${debs[0]} ]]; then
                vm_err "'apt-get download $pkg=$ver' left no .deb in $tmp"
                exit 1
            fi
            if ! dpkg -x "${debs[0]}" "$tmp/root"; then
                vm_err "dpkg -x ${debs[0]} failed"
                exit 1
            fi
            : >"$tmp/root/.complete"
            rm -rf -- "$dir"
            mv -- "$tmp/root" "$dir"
        fi
    fi

    local kernels=("$dir"/boot/vmlinuz-*)
    if [[ ! -r ${kernels[0]} || ${#kernels[@]} -ne 1 ]]; then
        vm_err "expected exactly one $dir/boot/vmlinuz-*, found: ${kernels[*]}"
        exit 1
    fi
    printf '%s\n' "${kernels[0]}"
)

vm_build_initramfs() (
    set -euo pipefail
    if (($# < 2)); then
        vm_err "usage: vm_build_initramfs OUT INIT_SCRIPT [HOST_PATH[:GUEST_PATH]...]"
        exit 2
    fi
    local out=$1 init=$2 bb=${VM_BUSYBOX:-/bin/busybox}
    shift 2
    vm_need cpio gzip ldd
    [[ -r $init ]] || { vm_err "init script '$init' is not readable"; exit 1; }
    [[ -x $bb ]] || { vm_err "no busybox at $bb (apt-get install busybox-static)"; exit 1; }
    if ldd "$bb" >/dev/null 2>&1; then
        vm_err "$bb is dynamically linked; the guest needs busybox-static (or set VM_BUSYBOX)"
        exit 1
    fi

    local tmp root applet spec src dst
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/vm-initramfs.XXXXXX")
    trap 'rm -rf -- "$tmp"' EXIT
    root=$tmp/root
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc,root}
    cp -- "$bb" "$root/bin/busybox"
    while IFS= read -r applet; do
        [[ -z $applet || $applet == bin/busybox ]] && continue
        mkdir -p "$root/${applet%/*}"
        ln -sf /bin/busybox "$root/$applet"
    done < <("$bb" --list-full)

    cp -- "$init" "$root/init.main"
    cat >"$root/init" <<EOF
#!/bin/sh
# Generated by tests/vm/lib.sh: mount the basics, run /init.main, power off.
export PATH=/sbin:/usr/sbin:/bin:/usr/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
[ -c /dev/console ] && exec </dev/console >/dev/console 2>&1
echo "$VM_START_MARK"
/bin/sh /init.main
rc=\$?
echo
echo "$VM_EXIT_MARK \$rc@@"
poweroff -f
EOF
    chmod 755 "$root/init" "$root/init.main"

    for spec in "$@"; do
        src=${spec%%:*}
        if [[ $spec == *:* ]]; then dst=${spec#*:}; else dst=/${src##*/}; fi
        [[ -e $src ]] || { vm_err "extra file '$src' does not exist"; exit 1; }
        [[ $dst == /* ]] || dst=/$dst
        mkdir -p "$root$(dirname -- "$dst")"
        cp -RL -- "$src" "$root$dst"
    done

    (cd "$root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
        cpio --null -o -H newc -R 0:0 --quiet) | gzip -n -6 >"$tmp/initramfs.cpio.gz"
    mv -f -- "$tmp/initramfs.cpio.gz" "$out"
)

vm_base_args() {
    if (($# < 2)); then
        vm_err "usage: vm_base_args KERNEL INITRD [APPEND]"
        return 2
    fi
    # shellcheck disable=SC2034 # VM_ARGS is the output, used by the caller
    VM_ARGS=(-accel tcg -cpu max -M q35 -m 1G -smp 2 -nographic -no-reboot -nic none
        -kernel "$1" -initrd "$2" -append "${3:-console=ttyS0 panic=-1 quiet}")
}

# vm_qemu_crashed_early RC LOG: QEMU died of a signal (not the timeout's) before the
# guest's /init printed VM_START_MARK.
vm_qemu_crashed_early() {
    (($1 > 128 && $1 != 137)) && ! tr -d '\r' <"$2" | grep -aqx -- "$VM_START_MARK"
}

vm_boot() (
    set -euo pipefail
    if (($# < 2)); then
        vm_err "usage: vm_boot TIMEOUT_S LOGFILE QEMU_ARGS..."
        exit 2
    fi
    local t=${1:-${VM_TIMEOUT:-120}} log=$2
    shift 2
    if [[ ! $t =~ ^[0-9]+$ ]] || ((t == 0)); then
        vm_err "vm_boot: timeout must be a positive number of seconds, got '$t'"
        exit 2
    fi
    vm_need timeout "$VM_QEMU"

    local err rc t0 t1 ms status attempt
    err=$(mktemp "${TMPDIR:-/tmp}/vm-qemu-stderr.XXXXXX")
    trap 'rm -f -- "$err"' EXIT
    for attempt in 1 2; do
        vm_err "booting guest (timeout ${t}s) ..."
        rc=0
        t0=$(date +%s%N)
        timeout --kill-after=5 "$t" "$VM_QEMU" "$@" </dev/null >"$log" 2>"$err" || rc=$?
        t1=$(date +%s%N)
        ms=$(((t1 - t0) / 1000000))
        vm_qemu_crashed_early "$rc" "$log" && ((attempt == 1)) || break
        # QEMU 7.2 under TCG has been seen to die of SIGSEGV in the firmware, before the
        # guest kernel ran: nothing of the project had run, so one more boot is fair.
        vm_err "QEMU CRASHED (status $rc) after ${ms} ms, before the guest's /init started;" \
            "booting once more. Its messages:"
        vm_show_log '  qemu: ' <"$err"
    done

    if ((rc == 124 || rc == 137)); then
        vm_err "TIMEOUT: guest still running after ${t}s, killed (rc $rc); serial log tail ($log):"
        tail -n 20 -- "$log" | vm_show_log '  guest: '
        exit 3
    fi
    if ((rc != 0)); then
        vm_err "QEMU FAILED: $VM_QEMU exited with status $rc after ${ms} ms:"
        vm_show_log '  qemu: ' <"$err"
        tail -n 5 -- "$log" | vm_show_log '  guest: '
        exit 4
    fi
    [[ -s $err ]] && vm_show_log 'vm: qemu: ' <"$err"
    if grep -aq 'Kernel panic' -- "$log"; then
        vm_err "GUEST PANIC after ${ms} ms; serial log ($log):"
        grep -a -A 12 -B 8 'Kernel panic' -- "$log" | vm_show_log '  guest: '
        exit 5
    fi
    status=$(tr -d '\r' <"$log" | sed -n "s/^$VM_EXIT_MARK \([0-9]*\)@@\$/\1/p" | tail -n 1)
    if [[ -z $status ]]; then
        vm_err "GUEST DID NOT FINISH its INIT script (no exit mark) after ${ms} ms; serial log tail:"
        tail -n 20 -- "$log" | vm_show_log '  guest: '
        exit 6
    fi
    if [[ $status != 0 ]]; then
        vm_err "GUEST INIT SCRIPT FAILED with status $status after ${ms} ms; serial log tail:"
        tail -n 20 -- "$log" | vm_show_log '  guest: '
        exit 6
    fi
    vm_err "guest finished in ${ms} ms"
)

vm_binary_specs() {
    local bin lib
    for bin in "$@"; do
        [[ -x $bin ]] || { vm_err "vm_binary_specs: '$bin' is not an executable"; return 1; }
        printf '%s:/usr/bin/%s\n' "$bin" "${bin##*/}"
    done
    # The loader keeps its own path; every other library goes where the loader looks by default.
    ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print "LOADER " $1 }' |
        sort -u | while read -r lib loader; do
        if [[ $lib == LOADER ]]; then
            printf '%s:%s\n' "$loader" "$loader"
        else
            printf '%s:/lib/x86_64-linux-gnu/%s\n' "$lib" "${lib##*/}"
        fi
    done
}

vm_module_specs() (
    set -euo pipefail
    if (($# < 2)); then
        vm_err "usage: vm_module_specs KERNEL DIR MODULE..."
        exit 2
    fi
    local kernel=$1 dir=$2 kmods mods kver m
    shift 2
    # The cloud kernel package keeps its modules next to boot/ (vm_fetch_kernel unpacks it whole).
    kmods=("$(dirname -- "$kernel")"/../lib/modules/*)
    [[ -d ${kmods[0]} ]] || { vm_err "no modules next to $kernel"; exit 1; }
    mods=${kmods[0]} kver=${kmods[0]##*/}
    for m in "$@"; do
        # Debian 12 ships them uncompressed; a .ko.xz is unpacked here (busybox insmod/modprobe
        # cannot read compressed modules).
        if [[ -f $mods/kernel/$m.ko ]]; then
            printf '%s:/lib/modules/%s/kernel/%s.ko\n' "$mods/kernel/$m.ko" "$kver" "$m"
        elif [[ -f $mods/kernel/$m.ko.xz ]]; then
            vm_need xz
            mkdir -p "$dir/ko"
            xz -dc -- "$mods/kernel/$m.ko.xz" >"$dir/ko/${m##*/}.ko"
            printf '%s:/lib/modules/%s/kernel/%s.ko\n' "$dir/ko/${m##*/}.ko" "$kver" "$m"
        else
            vm_err "module $m.ko(.xz) missing under $mods/kernel"
            exit 1
        fi
    done
)

vm_run_guest() (
    set -euo pipefail
    if (($# < 3)); then
        vm_err "usage: vm_run_guest BUILD_DIR SCRIPT LOG [QEMU_ARGS...]"
        exit 2
    fi
    local build=$1 script=$2 log=$3 tmp kernel bins specs
    shift 3
    mapfile -t bins < <(find "$build/apps" -mindepth 2 -maxdepth 2 -type f -name 'uviommu-*' \
        -perm -u+x 2>/dev/null | sort)
    ((${#bins[@]})) || { vm_err "no tools built in $build (ninja -C $build)"; exit 1; }
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/vm-run.XXXXXX")
    trap 'rm -rf -- "$tmp"' EXIT
    mapfile -t specs < <(vm_binary_specs "${bins[@]}")
    vm_build_initramfs "$tmp/initrd" "$script" "${specs[@]}"
    kernel=$(vm_fetch_kernel)
    vm_base_args "$kernel" "$tmp/initrd"
    local rc=0
    vm_boot "${VM_TIMEOUT:-120}" "$tmp/serial.log" "${VM_ARGS[@]}" "$@" || rc=$?
    tr -d '\r' <"$tmp/serial.log" >"$log"
    exit "$rc"
)

VM_PASSED=0 VM_FAILED=0 VM_SKIPPED=0

vm_block() {
    local log=${VM_LOG:?VM_LOG is not set}
    sed -n "/^@@BEGIN $1@@\$/,/^@@END $1 [0-9]*@@\$/p" "$log" | sed '1d;$d'
}

vm_block_rc() { sed -n "s/^@@END $1 \([0-9]*\)@@\$/\1/p" "${VM_LOG:?VM_LOG is not set}"; }

vm_check() {
    local what=$1 got=$2 want=$3
    if [[ $got == "$want" ]]; then
        printf '  ok    %s\n' "$what"
        VM_PASSED=$((VM_PASSED + 1))
    else
        printf '  FAIL  %s\n        got:  %s\n        want: %s\n' "$what" "$got" "$want"
        VM_FAILED=$((VM_FAILED + 1))
    fi
}

vm_skip() {
    printf '  SKIP  %s\n' "$*"
    VM_SKIPPED=$((VM_SKIPPED + 1))
}

vm_smoke_checks() {
    local name=$1 label=${2:-$1} line n=0
    while IFS= read -r line; do
        case $line in
        "CHECK ok "*) vm_check "$label: ${line#CHECK ok }" ok ok ;;
        "CHECK FAIL "*) vm_check "$label: ${line#CHECK FAIL }" FAIL ok ;;
        *) continue ;;
        esac
        n=$((n + 1))
    done < <(vm_block "$name")
    if ((n == 0)); then vm_check "$label printed its checks" none "CHECK lines"; fi
    vm_check "$label exit status" "$(vm_block_rc "$name")" 0
}

vm_summary() {
    local skipped=
    ((VM_SKIPPED == 0)) || skipped=", $VM_SKIPPED skipped"
    echo "$1: $VM_PASSED passed, $VM_FAILED failed$skipped"
    ((VM_FAILED == 0))
}
