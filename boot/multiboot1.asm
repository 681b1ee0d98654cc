; boot/multiboot1.asm — multiboot 1 and 2 headers and their entry.
;
; A multiboot 1 loader (QEMU -kernel, GRUB's `multiboot`, qboot) enters
; _start in 32-bit protected mode, paging off, with EAX = 0x2BADB002 and
; EBX = physical address of the multiboot information structure
; (Multiboot Specification 0.6.96, section 3.2 "Machine state"). A
; multiboot 2 loader (GRUB's `multiboot2`, on BIOS or UEFI) enters the same
; ELF entry in the same state with EAX = 0x36D76289 (Multiboot2
; Specification 1.0, 3.3 "I386 machine state"). The entry records which
; protocol it was and hands over to the common 32-bit path in start32.asm.

bits 32

MB1_HEADER_MAGIC  equ 0x1BADB002
MB1_BOOT_MAGIC    equ 0x2BADB002
MB1_PAGE_ALIGN    equ 1 << 0        ; modules on 4 KiB boundaries
MB1_MEMORY_INFO   equ 1 << 1        ; ask for mem_* and the memory map
MB1_FLAGS         equ MB1_PAGE_ALIGN | MB1_MEMORY_INFO

MB2_HEADER_MAGIC  equ 0xE85250D6
MB2_BOOT_MAGIC    equ 0x36D76289
MB2_ARCH_I386     equ 0

BOOT_PROTO_MULTIBOOT1 equ 1         ; matches enum boot_protocol in kernel/boot.h
BOOT_PROTO_MULTIBOOT2 equ 2

extern start32_common
extern start32_fail

section .mb1hdr progbits alloc noexec nowrite align=4
mb1_header:                         ; section 3.1.1: magic, flags, checksum
    dd MB1_HEADER_MAGIC
    dd MB1_FLAGS
    dd -(MB1_HEADER_MAGIC + MB1_FLAGS)

section .mb2hdr progbits alloc noexec nowrite align=8
mb2_header:                         ; multiboot2 3.1.1: magic, arch, length, checksum
    dd MB2_HEADER_MAGIC
    dd MB2_ARCH_I386
    dd mb2_header_end - mb2_header
    dd -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    dw 0, 0                         ; end tag: type 0, flags 0, size 8
    dd 8
mb2_header_end:

section .boot.text progbits alloc exec nowrite align=16
global _start
global mb1_entry
_start:
mb1_entry:
    cli
    cld
    mov edi, ebx                    ; boot information pointer
    mov esi, BOOT_PROTO_MULTIBOOT1
    cmp eax, MB1_BOOT_MAGIC
    je start32_common
    mov esi, BOOT_PROTO_MULTIBOOT2
    cmp eax, MB2_BOOT_MAGIC
    je start32_common
    jmp .bad_magic
.bad_magic:
    mov esi, msg_bad_magic
    jmp start32_fail

section .boot.data progbits alloc noexec write align=16
msg_bad_magic:
    db "zebu: bad boot magic: not started by a multiboot loader; halting", 13, 10, 0
