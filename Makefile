# Zebu — a unikernel for microservices. `make help` lists everything.
#
# One app from apps/ (or tests/apps/) is linked with the kernel into
# build/<app>.elf (ELF64, symbols and debug info, for gdb and the profiler)
# and build/<app>.elf32 (the stripped 32-bit container that QEMU's -kernel and
# GRUB load). Kernel objects are shared by every app; app objects are not.

APP      ?= webserver
ARGS     ?=
MEM      ?= 128M
SMP      ?= 1
# make run: the network apps get QEMU user networking and a forwarded port
ifneq ($(filter webserver echo kv jsonsvc,$(APP)),)
NET      ?= user
else
NET      ?= none
endif
BUILD    ?= build
V        ?= 0
# The accelerator for every guest (run, test, bench): empty or auto lets
# tools/zebu-run choose (hardware KVM that passes a probe boot, else TCG);
# kvm or tcg pins it, and a pinned kvm that cannot work is an error.
ACCEL    ?=
ifneq ($(filter-out auto kvm tcg,$(ACCEL)),)
$(error ACCEL=$(ACCEL): expected kvm, tcg or auto)
endif
ifneq ($(ACCEL),)
export ZEBU_ACCEL := $(ACCEL)
endif

CC       ?= gcc
ifeq ($(origin CC),default)
CC       := gcc
endif
LD       := ld
AR       := ar
NASM     := nasm
OBJCOPY  := objcopy
PYTHON   := python3

ifeq ($(V),1)
Q :=
else
Q := @
endif

APPDIR := $(firstword $(wildcard apps/$(APP) tests/apps/$(APP)))

GCC_INCLUDE := $(shell $(CC) -print-file-name=include 2>/dev/null)
LIBGCC      := $(shell $(CC) -print-libgcc-file-name 2>/dev/null)

# Flags for everything in the image.
OPT      ?= -O2
BASE_CFLAGS := -std=gnu11 -D_LIBC_LIMITS_H_ $(OPT) -g -ffreestanding -nostdinc -isystem $(GCC_INCLUDE) \
	-Ilibc/include -Iinclude -I. \
	-fno-pie -fno-pic -mno-red-zone -mcmodel=small -fno-stack-protector \
	-fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -fcf-protection=none \
	-fno-asynchronous-unwind-tables -fno-unwind-tables -fno-common \
	-ffunction-sections -fdata-sections \
	-Wall -Wextra -Werror -Wmissing-prototypes -Wstrict-prototypes -Wshadow \
	-MMD -MP
# Kernel, drivers and libc run in interrupt context too: no SSE registers
# (docs/contributing.md: interrupt paths leave SSE state alone).
KERNEL_CFLAGS := $(BASE_CFLAGS) -mgeneral-regs-only
LIBC_CFLAGS   := $(KERNEL_CFLAGS) -fno-builtin -fno-tree-loop-distribute-patterns
APP_CFLAGS    := $(BASE_CFLAGS)
NASMFLAGS     := -f elf64 -g -F dwarf -w+all
# --gc-sections: an app carries only the functions it reaches (see NET_LIB
# for the network stack).
LDFLAGS       := -nostdlib -static -n -z max-page-size=0x1000 -z noexecstack \
	--no-warn-rwx-segments --gc-sections -T linker.ld

# Code that runs once at boot or rarely (firmware tables, PCI scan, command
# line, DHCP, fragment reassembly, console and formatted output) is built for
# size; the data path (net/'s TCP/IP, virtio, scheduler, allocator, string
# functions, traps, the app) keeps $(OPT). Saves ~9 KiB of the image
# (docs/BENCHMARKS.md). A non-default OPT (say -O0 for gdb) applies to all.
COLD_C := drivers/acpi.c drivers/pci.c drivers/ioapic.c drivers/pit.c drivers/platform.c \
	drivers/serial.c drivers/vga.c kernel/app.c kernel/arch/idt.c kernel/boot.c \
	kernel/boottrace.c kernel/cmdline.c kernel/ksyms.c kernel/main.c kernel/paging.c \
	kernel/panic.c kernel/power.c kernel/printk.c kernel/smp.c drivers/acpi_pm.c net/config.c net/dhcp.c \
	net/ip4_frag.c libc/printf.c libc/printf_dec.c libc/stdio.c libc/stdlib.c libc/strerror.c \
	libc/strtol.c
COLD_OPT ?= $(if $(filter -O2 -O3,$(OPT)),-Os,$(OPT))

# ---- PROFILE=count: an image that counts calls per function per core ----
# gcc's -finstrument-functions calls kernel/profile.c's hook on every function
# entry; tools/qprofiler --count reads the counters (docs/profiling.md). Boot,
# per-core set-up and trap code, the arch helpers and the hook itself stay
# uninstrumented. Objects and images go to build/count/, so counted and
# normal builds never mix.
ifeq ($(PROFILE),count)
BUILD := build/count
PROFILE_CFLAGS := -DZEBU_PROFILE_COUNT -finstrument-functions \
	-finstrument-functions-exclude-file-list=kernel/profile.c,kernel/arch/,kernel/percpu.h,kernel/main.c,kernel/smp.c,kernel/trap.c,kernel/panic.c
KERNEL_CFLAGS += $(PROFILE_CFLAGS)
LIBC_CFLAGS   += $(PROFILE_CFLAGS)
APP_CFLAGS    += $(PROFILE_CFLAGS)
endif

KERNEL_C   := $(sort $(wildcard kernel/*.c kernel/arch/*.c drivers/*.c net/*.c))
KERNEL_ASM := $(sort $(wildcard boot/*.asm kernel/arch/*.asm))
LIBC_C     := $(sort $(wildcard libc/*.c))
KOBJ := $(BUILD)/obj
KERNEL_OBJS := $(KERNEL_C:%.c=$(KOBJ)/%.o) $(KERNEL_ASM:%.asm=$(KOBJ)/%.o) \
	$(LIBC_C:%.c=$(KOBJ)/%.o)
# The network stack and its kernel glue go in an archive, linked last: ld
# takes a member only when something refers to it strongly, and the kernel
# refers to knet_start weakly. So an app that calls no network function
# carries none of it (hello: ~35 KiB smaller), and an app that does gets
# all it needs through its calls (kernel/net.h).
NET_OBJS    := $(filter $(KOBJ)/net/%.o $(KOBJ)/kernel/net.o $(KOBJ)/kernel/net_api.o,$(KERNEL_OBJS))
CORE_OBJS   := $(filter-out $(NET_OBJS),$(KERNEL_OBJS))
NET_LIB     := $(KOBJ)/libzebunet.a

# A test app (tests/apps/) may carry kernel-side code in kernel/*.c, built
# like the kernel: self-tests of paths no app API reaches. Apps in apps/ see
# only include/zebu.h (tests/system/test_tree.py).
APP_C    := $(sort $(wildcard $(APPDIR)/*.c))
APP_KC   := $(if $(filter tests/apps/%,$(APPDIR)),$(sort $(wildcard $(APPDIR)/kernel/*.c)))
APPBUILD := $(BUILD)/app/$(APP)
APP_OBJS := $(APP_C:$(APPDIR)/%.c=$(APPBUILD)/%.o) $(APP_KC:$(APPDIR)/%.c=$(APPBUILD)/%.o) \
            $(APPBUILD)/appinfo.o

# lib/http (include/zebu_http.h): the HTTP/1.1 server library, built with
# the app's flags into an archive linked after the app's objects, so only an
# app that calls it carries it (and then only the members it reaches).
HTTP_C    := $(sort $(wildcard lib/http/*.c))
HTTP_OBJS := $(HTTP_C:lib/http/%.c=$(BUILD)/libhttp/%.o)
HTTP_LIB  := $(BUILD)/libhttp/libzebuhttp.a

ELF   := $(BUILD)/$(APP).elf
ELF32 := $(BUILD)/$(APP).elf32
PVH   := $(BUILD)/$(APP).pvh
ISO   := $(BUILD)/$(APP).iso

.PHONY: all image run iso test host-test system-test bench fuzz help clean deps \
	deps-build deps-run deps-iso deps-test deps-bench format check-app gdb \
	libvirt oci firecracker cloud-hypervisor
.DEFAULT_GOAL := all

all: image

image: deps-build check-app $(ELF32) $(PVH)

check-app:
ifeq ($(APPDIR),)
	@echo "make: no app '$(APP)': expected a folder apps/$(APP)/ with a main.c" >&2
	@echo "make: apps available: $(notdir $(wildcard apps/*))" >&2
	@exit 2
endif

# ---- dependencies: tools/deps.sh installs what is missing and says so ----
deps-build:
	@tools/deps.sh build
deps-run:
	@tools/deps.sh run
deps-iso:
	@tools/deps.sh iso
deps-test:
	@tools/deps.sh test
deps-bench:
	@tools/deps.sh bench
deps: deps-test

# ---- compile ----
$(COLD_C:%.c=$(KOBJ)/%.o): KERNEL_CFLAGS += $(COLD_OPT)
$(COLD_C:%.c=$(KOBJ)/%.o): LIBC_CFLAGS += $(COLD_OPT)

$(KOBJ)/libc/%.o: libc/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(LIBC_CFLAGS) -c $< -o $@

# The one libc file built with SSE: printf's variadic entries, whose
# prologue must save the XMM argument registers, and the fetch of a double
# argument (libc/printf_sse.c says why the kernel still touches no SSE
# register).
$(KOBJ)/libc/printf_sse.o: libc/printf_sse.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(filter-out -mgeneral-regs-only,$(LIBC_CFLAGS)) -c $< -o $@

$(KOBJ)/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(KERNEL_CFLAGS) -c $< -o $@

$(KOBJ)/%.o: %.asm
	@mkdir -p $(@D)
	@$(if $(Q),echo "  NASM    $<")
	$(Q)$(NASM) $(NASMFLAGS) -MD $(@:.o=.d) -MP $< -o $@

$(APPBUILD)/%.o: $(APPDIR)/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(APP_CFLAGS) -c $< -o $@

$(BUILD)/libhttp/%.o: lib/http/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(APP_CFLAGS) -c $< -o $@

$(HTTP_LIB): $(HTTP_OBJS)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(APPBUILD)/kernel/%.o: $(APPDIR)/kernel/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(KERNEL_CFLAGS) -c $< -o $@

# The app's name, for the banner and argv[0].
$(APPBUILD)/appinfo.c: FORCE
	@mkdir -p $(@D)
	@echo 'const char zebu_app_name[] = "$(APP)";' > $@.tmp
	@cmp -s $@.tmp $@ 2>/dev/null && rm -f $@.tmp || mv $@.tmp $@

$(APPBUILD)/appinfo.o: $(APPBUILD)/appinfo.c
	$(Q)$(CC) $(APP_CFLAGS) -c $< -o $@

$(KOBJ)/ksyms_empty.c: tools/mksyms.py
	@mkdir -p $(@D)
	$(Q)$(PYTHON) tools/mksyms.py - $@

$(KOBJ)/ksyms_empty.o: $(KOBJ)/ksyms_empty.c
	$(Q)$(CC) $(KERNEL_CFLAGS) -c $< -o $@

$(NET_LIB): $(NET_OBJS)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

# ---- link: pass 1 without symbols, pass 2 with the table pass 1 yields ----
$(APPBUILD)/pass1.elf: $(CORE_OBJS) $(APP_OBJS) $(KOBJ)/ksyms_empty.o $(HTTP_LIB) $(NET_LIB) linker.ld
	$(Q)$(LD) $(LDFLAGS) -o $@ $(CORE_OBJS) $(APP_OBJS) $(KOBJ)/ksyms_empty.o $(HTTP_LIB) $(NET_LIB) $(LIBGCC)

$(APPBUILD)/ksyms.c: $(APPBUILD)/pass1.elf tools/mksyms.py
	$(Q)$(PYTHON) tools/mksyms.py $< $@

$(APPBUILD)/ksyms.o: $(APPBUILD)/ksyms.c
	$(Q)$(CC) $(KERNEL_CFLAGS) -c $< -o $@

$(ELF): $(APPBUILD)/pass1.elf $(APPBUILD)/ksyms.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LD) $(LDFLAGS) -o $@ $(CORE_OBJS) $(APP_OBJS) $(APPBUILD)/ksyms.o $(HTTP_LIB) $(NET_LIB) $(LIBGCC)
	$(Q)$(PYTHON) tools/mksyms.py --verify $(APPBUILD)/pass1.elf $@

$(ELF32): $(ELF)
	$(Q)$(OBJCOPY) -O elf32-i386 --strip-all $< $@
	$(Q)$(PYTHON) tools/imginfo.py $@

# The PVH image, for every VMM that boots through the PVH note: the ELF64
# stripped, with the multiboot 1 header blanked so that QEMU's -kernel (which
# tries multiboot 1 first) takes the PVH note. ELF64 because Firecracker and
# Cloud Hypervisor load only ELF64 kernels (their loader reads Elf64 headers);
# QEMU takes either class (docs/boot.md).
$(KOBJ)/mb1hdr-blank.bin:
	@mkdir -p $(@D)
	$(Q)head -c 12 /dev/zero > $@

$(PVH): $(ELF) $(KOBJ)/mb1hdr-blank.bin
	$(Q)$(OBJCOPY) --strip-all --update-section .mb1hdr=$(KOBJ)/mb1hdr-blank.bin $< $@

# ---- the web server's site: packed from SITE, passed as a boot module ----
ifeq ($(APP),webserver)
SITE       ?= apps/webserver/site
SITE_EXTRA ?=
MODULE     := $(BUILD)/webserver.site
image: $(MODULE)
# Always repacked (fast and deterministic), so a changed SITE= is picked up.
$(MODULE): tools/mksite.py FORCE
	@mkdir -p $(@D)
	$(Q)$(PYTHON) tools/mksite.py $(SITE_EXTRA) $(SITE) $@
endif
MODULE_ARG := $(if $(MODULE),--module $(MODULE))
# Host ports forwarded by make run with NET=user.
HOSTFWD_webserver := tcp:127.0.0.1:8080-:80
HOSTFWD_echo      := tcp:127.0.0.1:8007-:7
HOSTFWD_kv        := tcp:127.0.0.1:8080-:80
HOSTFWD_jsonsvc   := tcp:127.0.0.1:8080-:80
HOSTFWD_ARG := $(if $(and $(filter user,$(NET)),$(HOSTFWD_$(APP))),--hostfwd $(HOSTFWD_$(APP)))
URL_webserver := open http://localhost:8080
URL_echo      := try: nc localhost 8007
URL_kv        := try: curl -X PUT -d '{"a":1}' localhost:8080/v1/keys/k
URL_jsonsvc   := try: curl -d '{"choice":"tabs"}' localhost:8080/votes

# ---- run ----
run: deps-run image
	$(if $(HOSTFWD_ARG),@echo "zebu: $(APP) with user networking: $(URL_$(APP)) (Ctrl-A X quits)")
	$(Q)tools/zebu-run --kernel $(ELF32) --mem $(MEM) --smp $(SMP) --net $(NET) \
		$(MODULE_ARG) $(HOSTFWD_ARG) --append "$(ARGS)" --interactive

gdb: deps-run image
	$(Q)tools/zebu-run --kernel $(ELF32) --mem $(MEM) --smp $(SMP) --net $(NET) \
		$(MODULE_ARG) $(HOSTFWD_ARG) --append "$(ARGS)" --interactive --gdb-wait

# ---- GRUB ISO (BIOS) ----
iso: deps-iso image $(ISO)

$(ISO): $(ELF32) tools/mkiso.sh $(MODULE) FORCE
	$(Q)tools/mkiso.sh $(ELF32) $@ "$(APP)" "$(ARGS)" $(MODULE)

# ---- deployment: libvirt, OCI for urunc, Firecracker and Cloud Hypervisor ----
# Each writes files under build/ that describe the same VM: build/$(APP).pvh,
# its module, ARGS as the command line, MEM, SMP (docs/deploy.md).
LIBVIRT_NET    ?= default
TAP            ?= zebu0
OCI_TAG        ?= latest
OCI_HYPERVISOR ?= qemu
MAC            ?=
MAC_ARG := $(if $(MAC),--mac $(MAC))

libvirt: image
	$(Q)tools/zebu-libvirt $(APP) --build $(BUILD) --cmdline "$(ARGS)" \
		--mem $(MEM) --vcpus $(SMP) --network $(LIBVIRT_NET) $(MAC_ARG) \
		-o $(BUILD)/$(APP).libvirt.xml
	@echo "zebu: $(BUILD)/$(APP).libvirt.xml (virsh -c qemu:///system define it; docs/deploy.md)"

oci: image
	$(Q)tools/zebu-oci $(APP) --build $(BUILD) --cmdline "$(ARGS)" \
		--hypervisor $(OCI_HYPERVISOR) --tag $(OCI_TAG)

firecracker cloud-hypervisor: image
	$(Q)tools/zebu-microvm $(APP) --build $(BUILD) --cmdline "$(ARGS)" \
		--mem $(MEM) --vcpus $(SMP) --tap $(TAP) $(MAC_ARG)

# ---- tests ----
TEST_APPS := hello ktest cores fpu apitest udp-echo echo webserver timeouts httplib kv jsonsvc apitour

test: deps-test
	$(Q)$(MAKE) --no-print-directory host-test
	$(Q)$(MAKE) --no-print-directory fuzz-smoke FUZZ_SMOKE_SECONDS=3
	$(Q)for a in $(TEST_APPS); do $(MAKE) --no-print-directory APP=$$a image || exit 1; done
	$(Q)$(MAKE) --no-print-directory APP=hello iso
	$(Q)$(MAKE) --no-print-directory APP=webserver iso
	$(Q)/usr/bin/python3 -m pytest -q tests/system

system-test: deps-test
	$(Q)/usr/bin/python3 -m pytest -q tests/system

include tests/host/host.mk

# ---- benchmarks ----
bench: deps-bench
	$(Q)$(MAKE) --no-print-directory APP=hello image
	$(Q)$(MAKE) --no-print-directory APP=ktest image
	$(Q)$(PYTHON) tools/boottime --runs 10 --app hello --smp 1
	$(Q)$(PYTHON) tools/boottime --runs 10 --app hello --smp 8
	$(Q)$(MAKE) --no-print-directory APP=webserver image
	$(Q)$(PYTHON) tools/boottime --runs 10 --app webserver --smp 1
	$(Q)$(PYTHON) tools/boottime --runs 10 --app webserver --smp 8
	$(Q)$(PYTHON) tools/bench-smp.py --runs 5
	$(Q)$(MAKE) --no-print-directory APP=webserver image
	$(Q)$(PYTHON) tools/bench-percore.py
	$(Q)$(MAKE) --no-print-directory APP=udp-echo image
	$(Q)$(PYTHON) tools/bench-net.py
	$(Q)$(MAKE) --no-print-directory APP=webserver image
	$(Q)$(PYTHON) tools/bench-http.py
	$(Q)$(PYTHON) tools/bench-synflood.py
	$(Q)$(PYTHON) tools/bench-peer.py
	$(Q)$(MAKE) --no-print-directory APP=kv image
	$(Q)$(PYTHON) tools/bench-kv.py
	$(Q)$(MAKE) --no-print-directory bench-tcp-callgrind
	$(Q)$(MAKE) --no-print-directory bench-tcp-lwip

# Long fuzzing of every parser (FUZZ_SECONDS each, default 300); make test
# runs each target for a few seconds only.
fuzz: deps-test
	$(Q)$(MAKE) --no-print-directory fuzz-long

format:
	$(Q)clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

help:
	@echo "Zebu — a unikernel for microservices"
	@echo ""
	@echo "Targets:"
	@echo "  make [image]      build build/\$$APP.elf (symbols) and build/\$$APP.elf32 (boot image)"
	@echo "  make run          boot the app under QEMU, serial console here (Ctrl-A X quits)"
	@echo "  make gdb          like run, but wait for gdb on localhost:1234"
	@echo "  make iso          build build/\$$APP.iso, a GRUB ISO that boots the same image"
	@echo "  make test         host unit tests, then system tests that boot real QEMU guests"
	@echo "  make host-test    host unit tests only (ASan, UBSan, ThreadSanitizer)"
	@echo "  make fuzz         fuzz every network parser (FUZZ_SECONDS=300 each)"
	@echo "  make bench        boot time, image size, SMP, a network stack per core, network figures, Zebu vs Linux+nginx, apps/kv vs etcd (docs/BENCHMARKS.md)"
	@echo "  make libvirt      build/\$$APP.libvirt.xml, a libvirt domain (docs/deploy.md)"
	@echo "  make oci          build/\$$APP.oci/ and .oci.tar, an OCI image with urunc's annotations"
	@echo "  make firecracker  build/\$$APP.firecracker.json (Firecracker's config) and"
	@echo "                    build/\$$APP.cloud-hypervisor.sh (Cloud Hypervisor's command line)"
	@echo "  make format       clang-format every C file"
	@echo "  make clean        remove build/"
	@echo ""
	@echo "Variables:"
	@echo "  APP=name          app folder under apps/ (default: webserver; now: $(APP))"
	@echo "  ARGS='k=v ...'    boot command line: options and app arguments ('help' lists them)"
	@echo "  MEM=128M          guest memory for run and the deploy targets (libvirt, firecracker)"
	@echo "  SMP=1             guest CPUs for run and the deploy targets"
	@echo "  NET=none          guest network for run: none, user, tap:IFNAME, relay:DIR (user for webserver, echo)"
	@echo "  ACCEL=            kvm or tcg pins the accelerator (default: KVM when hardware-backed and"
	@echo "                    a probe boot passes, else TCG; the launcher says which and why)"
	@echo "  SITE=dir          the folder the web server serves (default apps/webserver/site)"
	@echo "  LIBVIRT_NET=default  the libvirt network make libvirt attaches the NIC to"
	@echo "  TAP=zebu0         the host tap make firecracker attaches the NIC to"
	@echo "  MAC=              the NIC's MAC for make libvirt and firecracker (default: chosen)"
	@echo "  OCI_TAG=latest    the tag make oci writes; OCI_HYPERVISOR=qemu the VMM urunc starts"
	@echo "                    (qemu, firecracker or cloud-hypervisor)"
	@echo "  OPT=-O2           optimisation; with -O2 or -O3 boot-time and rare code (COLD_C)"
	@echo "                    is -Os, any other value (-O0 for gdb) applies to everything"
	@echo "  PROFILE=count     an image that counts calls per function (tools/qprofiler --count)"
	@echo "  V=1               show full commands"
	@echo ""
	@echo "Apps: $(notdir $(wildcard apps/*))"

FORCE:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
