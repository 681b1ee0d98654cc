; boot/multiboot1.asm — multiboot 1 header and entry.
;
; A multiboot 1 loader (QEMU -kernel, GRUB's `multiboot`, qboot) enters
; mb1_entry in 32-bit protected mode, paging off, with EAX = 0x2BADB002 and
; EBX = physical address of the multiboot information structure
; (Multiboot Specification 0.6.96, section 3.2 "Machine state").
; The entry records the protocol and hands over to the common 32-bit path in
; start32.asm, which checks the CPU, builds page tables and enters long mode.

bits 32

MB1_HEADER_MAGIC  equ 0x1BADB002
MB1_BOOT_MAGIC    equ 0x2BADB002
MB1_PAGE_ALIGN    equ 1 << 0        ; modules on 4 KiB boundaries
MB1_MEMORY_INFO   equ 1 << 1        ; ask for mem_* and the memory map
MB1_FLAGS         equ MB1_PAGE_ALIGN | MB1_MEMORY_INFO

BOOT_PROTO_MULTIBOOT1 equ 1         ; matches enum boot_protocol in kernel/boot.h

extern start32_common
extern start32_fail

section .boot.header progbits alloc noexec nowrite align=4
align 4
mb1_header:                         ; section 3.1.1: magic, flags, checksum
    dd MB1_HEADER_MAGIC
    dd MB1_FLAGS
    dd -(MB1_HEADER_MAGIC + MB1_FLAGS)

section .boot.text progbits alloc exec nowrite align=16
global _start
global mb1_entry
_start:
mb1_entry:
    cli
    cld
    cmp eax, MB1_BOOT_MAGIC
    jne .bad_magic
    mov esi, BOOT_PROTO_MULTIBOOT1
    mov edi, ebx                    ; boot information pointer
    jmp start32_common
.bad_magic:
    mov esi, msg_bad_magic
    jmp start32_fail

section .boot.data progbits alloc noexec write align=16
msg_bad_magic:
    db "zebu: bad boot magic: not started by a multiboot loader; halting", 13, 10, 0
